// The discriminator MLP d → h1 → h2 → 1 (ReLU between layers, nn.Linear: y = x·Wᵀ + b) fused
// into one launch: forward through every layer, the BCE loss, and the backward, with the
// activations of a tile of rows kept in workgroup memory instead of written out per layer.
// Host contract: src/kernels/disc_fused.rs (CPU twin: disc_fused::step_cpu / regulariser_cpu).
//
// Batch rows r < rows; row r's input is z[r] for r < zrows, else the prior sample z′[r − zrows]:
// drawn here (REAL_DRAWN: Philox stream `stream`, element (r − zrows)·d + c, exactly what
// shaders/rng.wgsl's `normal` writes for that stream) or read from `prior`. Rows r < fake are
// labelled fake (0), the rest real (1); every row's loss carries 1/n:
//   s = a2·w3 + b3;  fake: loss = softplus(s)/n, g = σ(s)/n;  real: loss = softplus(−s)/n,
//   g = −σ(−s)/n;  da2 = g·w3 ⊙ [a2 > 0];  da1 = (da2·W2) ⊙ [a1 > 0];  dx = da1·W1
// Entry `step` (a discriminator step): the gradient of every parameter, as partial sums per
// workgroup. Workgroup (w, y) walks tiles w, w + G, w + 2G, … (G = workgroups along x); its
// invocation t owns gradient block y·WG + t (a TM × TN block of dW1 or dW2, or a run of TM values
// of b1, b2, w3, b3: see grad_block) and sums it over its rows in row order; it then writes row
// w of the partials table (row-major, row_len = 1 + params: column 0 the loss, column 1 + e
// parameter e's gradient; padding between tensors gets 0). The Adam launch that follows adds each column over
// the G rows in order (shaders/adam.wgsl, FINISH_GRADS): every sum has a fixed order, so the
// step is bit-reproducible, with no float atomics and no reduction launch.
// Entry `regulariser` (the encoder's adversarial term, no parameter update): dx for every row
// into dz (row r < zrows), and the loss partial sum into column 0 of row w.
// Workgroup memory holds one tile: x [R × d], a1 [R × h1], a2 [R × h2], da1 [R × h1], g [R],
// loss [R]; the host picks R = tile so that it fits TILE_FLOATS (≤ 16 KiB, WebGPU's default).
// softplus, sigmoid: shaders/lib/logistic.wgsl; philox, box_muller: shaders/lib/philox.wgsl
// (the host module prepends both).

const WG: u32 = 128u;
// Gradient blocks one invocation owns (host: disc_fused::BLOCKS_PER_INVOCATION).
const BPI: u32 = 2u;
// f32s of workgroup memory for one tile (host: disc_fused::TILE_FLOATS).
const TILE_FLOATS: u32 = 3968u;
// `params.flags` (host: disc_fused::REAL_DRAWN).
const REAL_DRAWN: u32 = 1u;
// Columns of the partials table (host: disc_fused::LOSS_COLUMN, GRAD_COLUMN; shaders/adam.wgsl).
const LOSS_COLUMN: u32 = 0u;
const GRAD_COLUMN: u32 = 1u;

struct Params {
    rows: u32,
    zrows: u32,
    fake: u32,
    d: u32,
    h1: u32,
    h2: u32,
    // rows per tile, and tiles in the batch
    tile: u32,
    tiles: u32,
    inv_n: f32,
    flags: u32,
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    // length of the flat parameter vector, and the partials table's row length (1 + it)
    num_params: u32,
    row_len: u32,
    _pad0: u32,
    // offsets of w1 [h1 × d], b1 [h1], w2 [h2 × h1], b2 [h2], w3 [h2], b3 [1] in theta
    o_w1: u32,
    o_b1: u32,
    o_w2: u32,
    o_b2: u32,
    o_w3: u32,
    o_b3: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> clock: array<u32>;
@group(0) @binding(2) var<storage, read> theta: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;
@group(0) @binding(4) var<storage, read> prior: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;

var<workgroup> mem: array<f32, TILE_FLOATS>;

// Where each array of the tile starts in `mem`.
struct Layout {
    x: u32,
    a1: u32,
    a2: u32,
    da1: u32,
    g: u32,
    loss: u32,
}

fn tile_layout() -> Layout {
    let r = params.tile;
    var l: Layout;
    l.x = 0u;
    l.a1 = l.x + r * params.d;
    l.a2 = l.a1 + r * params.h1;
    l.da1 = l.a2 + r * params.h2;
    l.g = l.da1 + r * params.h1;
    l.loss = l.g + r;
    return l;
}

fn prior_value(i: u32, c: u32) -> f32 {
    let e = i * params.d + c;
    if (params.flags & REAL_DRAWN) != 0u {
        let w = philox(vec4<u32>(e, clock[0], params.stream, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
        return box_muller(w);
    }
    return prior[e];
}

// x of the tile's rows (zeros past the batch).
fn load_inputs(l: Layout, first: u32, t: u32) {
    let d = params.d;
    for (var idx = t; idx < params.tile * d; idx += WG) {
        let r = first + idx / d;
        let c = idx % d;
        var v = 0.0;
        if r < params.zrows {
            v = z[r * d + c];
        } else if r < params.rows {
            v = prior_value(r - params.zrows, c);
        }
        mem[l.x + idx] = v;
    }
}

// Register blocking, as in matmul.wgsl (measured fastest on lavapipe there): an invocation owns
// a block of TM rows × TN columns of a product, 4·8 multiply-adds per 4 + 8 loads. Neighbouring
// invocations own neighbouring row blocks of the same columns. Tails read a clamped (valid)
// column and skip their writes. The tile's row count is a multiple of TM (host: tile_rows).
const TM: u32 = 4u;
const TN: u32 = 8u;

struct Block {
    r0: u32,
    c0: u32,
}

// Block b of a product with `cols` columns over the tile's rows.
fn block_of(b: u32) -> Block {
    let rb = params.tile / TM;
    return Block((b % rb) * TM, (b / rb) * TN);
}

fn blocks(cols: u32) -> u32 {
    return (params.tile / TM) * ((cols + TN - 1u) / TN);
}

// Column j of rows r0..r0+3 of a tile array `width` wide.
fn rows4(base: u32, width: u32, r0: u32, j: u32) -> vec4<f32> {
    let o = base + r0 * width + j;
    return vec4<f32>(mem[o], mem[o + width], mem[o + 2u * width], mem[o + 3u * width]);
}

// out[r, j] = ReLU(b[j] + Σ_i inp[r, i]·W[j, i]) for W [width × fan_in] at theta[w].
fn dense_relu(inp: u32, fan_in: u32, out: u32, width: u32, w: u32, b: u32, t: u32) {
    for (var blk = t; blk < blocks(width); blk += WG) {
        let k = block_of(blk);
        var acc = array<vec4<f32>, TN>();
        var wrow = array<u32, TN>();
        for (var c = 0u; c < TN; c++) {
            wrow[c] = w + min(k.c0 + c, width - 1u) * fan_in;
        }
        for (var i = 0u; i < fan_in; i++) {
            let a = rows4(inp, fan_in, k.r0, i);
            for (var c = 0u; c < TN; c++) {
                acc[c] += a * theta[wrow[c] + i];
            }
        }
        for (var c = 0u; c < TN; c++) {
            let j = k.c0 + c;
            if j < width {
                let v = max(acc[c] + vec4<f32>(theta[b + j]), vec4<f32>(0.0));
                for (var rr = 0u; rr < TM; rr++) {
                    mem[out + (k.r0 + rr) * width + j] = v[rr];
                }
            }
        }
    }
}

// Logit, loss and dL/dlogit of each row (0 past the batch).
fn head(l: Layout, first: u32, t: u32) {
    let h2 = params.h2;
    for (var r = t; r < params.tile; r += WG) {
        let row = first + r;
        var g = 0.0;
        var loss = 0.0;
        if row < params.rows {
            var s = theta[params.o_b3];
            for (var j = 0u; j < h2; j++) {
                s += mem[l.a2 + r * h2 + j] * theta[params.o_w3 + j];
            }
            if row < params.fake {
                loss = softplus(s) * params.inv_n;
                g = sigmoid(s) * params.inv_n;
            } else {
                loss = softplus(-s) * params.inv_n;
                g = -sigmoid(-s) * params.inv_n;
            }
        }
        mem[l.g + r] = g;
        mem[l.loss + r] = loss;
    }
}

// da2[r, j] = g_r · w3[j] · [a2[r, j] > 0] for rows r0..r0+3 (g4 = their g), computed where it
// is used: it is rank one, so it is never stored.
fn da2_rows4(l: Layout, g4: vec4<f32>, r0: u32, j: u32) -> vec4<f32> {
    let a = rows4(l.a2, params.h2, r0, j);
    return select(vec4<f32>(0.0), g4 * theta[params.o_w3 + j], a > vec4<f32>(0.0));
}

fn g_rows4(l: Layout, r0: u32) -> vec4<f32> {
    return vec4<f32>(mem[l.g + r0], mem[l.g + r0 + 1u], mem[l.g + r0 + 2u], mem[l.g + r0 + 3u]);
}

// da1[r, i] = (Σ_j da2[r, j]·W2[j, i]) · [a1[r, i] > 0].
fn backward_da1(l: Layout, t: u32) {
    let h1 = params.h1;
    for (var blk = t; blk < blocks(h1); blk += WG) {
        let k = block_of(blk);
        let g4 = g_rows4(l, k.r0);
        var acc = array<vec4<f32>, TN>();
        var col = array<u32, TN>();
        for (var c = 0u; c < TN; c++) {
            col[c] = params.o_w2 + min(k.c0 + c, h1 - 1u);
        }
        for (var j = 0u; j < params.h2; j++) {
            let a = da2_rows4(l, g4, k.r0, j);
            for (var c = 0u; c < TN; c++) {
                acc[c] += a * theta[col[c] + j * h1];
            }
        }
        for (var c = 0u; c < TN; c++) {
            let i = k.c0 + c;
            if i < h1 {
                let keep = rows4(l.a1, h1, k.r0, i) > vec4<f32>(0.0);
                let v = select(vec4<f32>(0.0), acc[c], keep);
                for (var rr = 0u; rr < TM; rr++) {
                    mem[l.da1 + (k.r0 + rr) * h1 + i] = v[rr];
                }
            }
        }
    }
}

// The forward and backward of one tile into workgroup memory (ends with a barrier).
fn tile_pass(l: Layout, first: u32, t: u32) {
    load_inputs(l, first, t);
    workgroupBarrier();
    dense_relu(l.x, params.d, l.a1, params.h1, params.o_w1, params.o_b1, t);
    workgroupBarrier();
    dense_relu(l.a1, params.h1, l.a2, params.h2, params.o_w2, params.o_b2, t);
    workgroupBarrier();
    head(l, first, t);
    workgroupBarrier();
    backward_da1(l, t);
    workgroupBarrier();
}

// The parameter gradients as blocks an invocation owns across tiles: TM × TN blocks of dW1
// [h1 × d] and dW2 [h2 × h1] (TM output rows j, TN columns), then runs of TM values of b1, b2,
// w3 and b3. Block q is a pair (kind, index).
const KIND_W1: u32 = 0u;
const KIND_W2: u32 = 1u;
const KIND_B1: u32 = 2u;
const KIND_B2: u32 = 3u;
const KIND_W3: u32 = 4u;
const KIND_B3: u32 = 5u;
const KIND_NONE: u32 = 6u;

struct GradBlock {
    kind: u32,
    // first output row (j) and column of the block
    j0: u32,
    c0: u32,
}

fn ceil_div(a: u32, b: u32) -> u32 {
    return (a + b - 1u) / b;
}

fn grad_block(q: u32) -> GradBlock {
    let d = params.d;
    let h1 = params.h1;
    let h2 = params.h2;
    let n_w1 = ceil_div(h1, TM) * ceil_div(d, TN);
    let n_w2 = ceil_div(h2, TM) * ceil_div(h1, TN);
    var b = GradBlock(KIND_NONE, 0u, 0u);
    var i = q;
    if i < n_w1 {
        let cb = ceil_div(d, TN);
        return GradBlock(KIND_W1, (i / cb) * TM, (i % cb) * TN);
    }
    i -= n_w1;
    if i < n_w2 {
        let cb = ceil_div(h1, TN);
        return GradBlock(KIND_W2, (i / cb) * TM, (i % cb) * TN);
    }
    i -= n_w2;
    for (var kind = KIND_B1; kind <= KIND_W3; kind++) {
        let len = ceil_div(select(h2, h1, kind == KIND_B1), TM);
        if i < len {
            return GradBlock(kind, i * TM, 0u);
        }
        i -= len;
    }
    if i == 0u {
        return GradBlock(KIND_B3, 0u, 0u);
    }
    return b;
}

// Block q, or none past the last.
fn owned_block(q: u32) -> GradBlock {
    if q < grad_blocks() {
        return grad_block(q);
    }
    return GradBlock(KIND_NONE, 0u, 0u);
}

// Blocks in the whole gradient (the host sizes the launch's second grid dimension from this).
fn grad_blocks() -> u32 {
    let d = params.d;
    let h1 = params.h1;
    let h2 = params.h2;
    return ceil_div(h1, TM) * ceil_div(d, TN) + ceil_div(h2, TM) * ceil_div(h1, TN)
        + ceil_div(h1, TM) + 2u * ceil_div(h2, TM) + 1u;
}

// Clamped indices j0..j0+3 below `len`.
fn clamp4(j0: u32, len: u32) -> vec4<u32> {
    let last = len - 1u;
    return min(vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u), vec4<u32>(last));
}

// Columns js of row r of a tile array `width` wide.
fn cols4(base: u32, width: u32, r: u32, js: vec4<u32>) -> vec4<f32> {
    let o = base + r * width;
    return vec4<f32>(mem[o + js.x], mem[o + js.y], mem[o + js.z], mem[o + js.w]);
}

fn theta4(base: u32, js: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(theta[base + js.x], theta[base + js.y], theta[base + js.z], theta[base + js.w]);
}

// This tile's contribution to block `b` (acc[c] = column c0 + c of output rows j0..j0+3;
// vector kinds use acc[0]). One loop over the rows per kind, indices hoisted out of it.
fn grad_add(l: Layout, b: GradBlock, acc: ptr<function, array<vec4<f32>, TN>>) {
    let d = params.d;
    let h1 = params.h1;
    let h2 = params.h2;
    let rt = params.tile;
    switch b.kind {
        case KIND_W1: {
            let js = clamp4(b.j0, h1);
            var cs = array<u32, TN>();
            for (var c = 0u; c < TN; c++) {
                cs[c] = l.x + min(b.c0 + c, d - 1u);
            }
            for (var r = 0u; r < rt; r++) {
                let a = cols4(l.da1, h1, r, js);
                for (var c = 0u; c < TN; c++) {
                    (*acc)[c] += a * mem[cs[c] + r * d];
                }
            }
        }
        case KIND_W2: {
            let js = clamp4(b.j0, h2);
            let w3 = theta4(params.o_w3, js);
            var cs = array<u32, TN>();
            for (var c = 0u; c < TN; c++) {
                cs[c] = l.a1 + min(b.c0 + c, h1 - 1u);
            }
            for (var r = 0u; r < rt; r++) {
                let a2 = cols4(l.a2, h2, r, js);
                let a = select(vec4<f32>(0.0), mem[l.g + r] * w3, a2 > vec4<f32>(0.0));
                for (var c = 0u; c < TN; c++) {
                    (*acc)[c] += a * mem[cs[c] + r * h1];
                }
            }
        }
        case KIND_B1: {
            let js = clamp4(b.j0, h1);
            for (var r = 0u; r < rt; r++) {
                (*acc)[0] += cols4(l.da1, h1, r, js);
            }
        }
        case KIND_B2: {
            let js = clamp4(b.j0, h2);
            let w3 = theta4(params.o_w3, js);
            for (var r = 0u; r < rt; r++) {
                let a2 = cols4(l.a2, h2, r, js);
                (*acc)[0] += select(vec4<f32>(0.0), mem[l.g + r] * w3, a2 > vec4<f32>(0.0));
            }
        }
        case KIND_W3: {
            let js = clamp4(b.j0, h2);
            for (var r = 0u; r < rt; r++) {
                (*acc)[0] += mem[l.g + r] * cols4(l.a2, h2, r, js);
            }
        }
        case KIND_B3: {
            for (var r = 0u; r < rt; r++) {
                (*acc)[0].x += mem[l.g + r];
            }
        }
        default: {}
    }
}

// Writes block `b` to partials row `row` (columns GRAD_COLUMN + parameter index).
fn grad_store(b: GradBlock, acc: array<vec4<f32>, TN>, row: u32) {
    let d = params.d;
    let h1 = params.h1;
    let h2 = params.h2;
    let o = row + GRAD_COLUMN;
    switch b.kind {
        case KIND_W1, KIND_W2: {
            let is1 = b.kind == KIND_W1;
            let rows = select(h2, h1, is1);
            let cols = select(h1, d, is1);
            let base = select(params.o_w2, params.o_w1, is1);
            for (var c = 0u; c < TN; c++) {
                for (var jj = 0u; jj < TM; jj++) {
                    let j = b.j0 + jj;
                    let col = b.c0 + c;
                    if j < rows && col < cols {
                        partials[o + base + j * cols + col] = acc[c][jj];
                    }
                }
            }
        }
        case KIND_B1, KIND_B2, KIND_W3: {
            var base = params.o_w3;
            var len = h2;
            if b.kind == KIND_B1 {
                base = params.o_b1;
                len = h1;
            } else if b.kind == KIND_B2 {
                base = params.o_b2;
            }
            for (var jj = 0u; jj < TM; jj++) {
                if b.j0 + jj < len {
                    partials[o + base + b.j0 + jj] = acc[0][jj];
                }
            }
        }
        case KIND_B3: {
            partials[o + params.o_b3] = acc[0].x;
        }
        default: {}
    }
}

// Zeros for the padding between tensors (so the optimizer's column totals are 0 there).
fn is_padding(e: u32) -> bool {
    let d = params.d;
    let h1 = params.h1;
    let h2 = params.h2;
    let inside = (e >= params.o_w1 && e < params.o_w1 + h1 * d)
        || (e >= params.o_b1 && e < params.o_b1 + h1)
        || (e >= params.o_w2 && e < params.o_w2 + h2 * h1)
        || (e >= params.o_b2 && e < params.o_b2 + h2)
        || (e >= params.o_w3 && e < params.o_w3 + h2)
        || e == params.o_b3;
    return !inside;
}

fn tile_loss(l: Layout) -> f32 {
    var s = 0.0;
    for (var r = 0u; r < params.tile; r++) {
        s += mem[l.loss + r];
    }
    return s;
}

@compute @workgroup_size(WG)
fn step(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let l = tile_layout();
    // Workgroup row y owns gradient blocks y·WG·BPI .. +WG·BPI, invocation t the blocks
    // (y·BPI + u)·WG + t for u < BPI = 2 (written out: two accumulators).
    let b0 = owned_block((wid.y * BPI) * WG + t);
    let b1 = owned_block((wid.y * BPI + 1u) * WG + t);
    var acc0: array<vec4<f32>, TN>;
    var acc1: array<vec4<f32>, TN>;
    var loss = 0.0;
    for (var tile = wid.x; tile < params.tiles; tile += nwg.x) {
        tile_pass(l, tile * params.tile, t);
        grad_add(l, b0, &acc0);
        grad_add(l, b1, &acc1);
        if t == 0u {
            loss += tile_loss(l);
        }
        workgroupBarrier(); // the next tile overwrites the workgroup memory read above
    }
    let row = wid.x * params.row_len;
    grad_store(b0, acc0, row);
    grad_store(b1, acc1, row);
    if wid.y == 0u {
        for (var e = t; e < params.num_params; e += WG) {
            if is_padding(e) {
                partials[row + GRAD_COLUMN + e] = 0.0;
            }
        }
        if t == 0u {
            partials[row + LOSS_COLUMN] = loss;
        }
    }
}

@compute @workgroup_size(WG)
fn regulariser(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let l = tile_layout();
    let d = params.d;
    let h1 = params.h1;
    var loss = 0.0;
    for (var tile = wid.x; tile < params.tiles; tile += nwg.x) {
        let first = tile * params.tile;
        tile_pass(l, first, t);
        // dx = da1·W1 (W1 [h1 × d]), blocked like the products above.
        for (var blk = t; blk < blocks(d); blk += WG) {
            let k = block_of(blk);
            var acc = array<vec4<f32>, TN>();
            var col = array<u32, TN>();
            for (var c = 0u; c < TN; c++) {
                col[c] = params.o_w1 + min(k.c0 + c, d - 1u);
            }
            for (var i = 0u; i < h1; i++) {
                let a = rows4(l.da1, h1, k.r0, i);
                for (var c = 0u; c < TN; c++) {
                    acc[c] += a * theta[col[c] + i * d];
                }
            }
            for (var c = 0u; c < TN; c++) {
                for (var rr = 0u; rr < TM; rr++) {
                    let r = first + k.r0 + rr;
                    if k.c0 + c < d && r < params.zrows {
                        dz[r * d + k.c0 + c] = acc[c][rr];
                    }
                }
            }
        }
        if t == 0u {
            loss += tile_loss(l);
        }
        workgroupBarrier();
    }
    if t == 0u {
        partials[wid.x * params.row_len + LOSS_COLUMN] = loss;
    }
}
