//! The fused discriminator launches against their f64 twin: random parameters and inputs,
//! awkward row counts and widths (tails of every tile and register block), more than one
//! parameter block, every output poisoned first; the drawn prior against the rng kernel's
//! draw of the same stream; determinism.

use argva::gpu::{GpuBuffer, GpuContext, submit};
use argva::kernels::disc_fused::{self, Batch, GRAD_COLUMN, LOSS_COLUMN, Mlp, Operands, Prior};
use argva::kernels::rng;
use argva::model::{Arch, ModelKind, ParamLayout};
use argva::testing::{assert_close, rng as seeded, to_f64, uniform_f32};

use crate::ctx;

fn mlp(d: usize, h: usize) -> Mlp {
    mlp2(d, h, h)
}

/// A discriminator d → h1 → h2 → 1.
fn mlp2(d: usize, h1: usize, h2: usize) -> Mlp {
    Mlp::of(&ParamLayout::discriminator(&Arch {
        kind: ModelKind::Argva,
        features: 3,
        hidden: 4,
        latent: d,
        disc_hidden: h1,
        disc_hidden2: Some(h2),
        encoder_bias: true,
    }))
}

/// What one launch left: the partials table and dz.
struct Out {
    table: Vec<f32>,
    dz: Vec<f32>,
    groups: usize,
}

struct Inputs {
    theta: Vec<f32>,
    z: Vec<f32>,
    prior: Vec<f32>,
}

fn inputs(m: &Mlp, n: usize, seed: u64) -> Inputs {
    let mut r = seeded(seed);
    Inputs {
        theta: uniform_f32(&mut r, m.len, -0.4, 0.4),
        z: uniform_f32(&mut r, n * m.d, -1.5, 1.5),
        prior: uniform_f32(&mut r, n * m.d, -2.0, 2.0),
    }
}

/// Runs `step` (prior from a buffer, or drawn) or `regulariser` with poisoned outputs.
fn run(ctx: &GpuContext, m: &Mlp, n: usize, x: &Inputs, step: bool, drawn: Option<u64>) -> Out {
    let batch = if step {
        Batch::step(n)
    } else {
        Batch::regulariser(n)
    };
    let groups = disc_fused::partial_rows(m, batch, disc_fused::Room::of(ctx)).unwrap();
    let clock = GpuBuffer::from_slice(ctx, "clock", &[3u32, 0, 0, 0]).unwrap();
    let theta = GpuBuffer::from_slice(ctx, "theta", &x.theta).unwrap();
    let z = GpuBuffer::from_slice(ctx, "z", &x.z).unwrap();
    let prior = GpuBuffer::from_slice(ctx, "prior", &x.prior).unwrap();
    let partials = GpuBuffer::<f32>::zeros(ctx, "partials", groups * m.row_len()).unwrap();
    let dz = GpuBuffer::<f32>::zeros(ctx, "dz", n * m.d).unwrap();
    partials.poison(ctx);
    dz.poison(ctx);
    let ops = Operands {
        clock: &clock,
        theta: (&theta).into(),
        z: (&z).into(),
        partials: (&partials).into(),
        dz: (&dz).into(),
    };
    let d = if step {
        let source = match drawn {
            Some(seed) => Prior::Drawn { seed, stream: 4 },
            None => Prior::Buffer((&prior).into()),
        };
        disc_fused::bind_step(ctx, m, batch, source, ops).unwrap()
    } else {
        disc_fused::bind_regulariser(ctx, m, n, ops).unwrap()
    };
    submit(ctx, "disc_fused", &[&d]);
    Out {
        table: partials.read_blocking(ctx).unwrap(),
        dz: dz.read_blocking(ctx).unwrap(),
        groups,
    }
}

fn total(m: &Mlp, out: &Out, column: usize) -> f64 {
    disc_fused::sum_column(&out.table, m.row_len(), out.groups, column)
}

/// [z ; prior] as the twin's input rows.
fn batch_rows(x: &Inputs) -> Vec<f64> {
    to_f64(&[x.z.clone(), x.prior.clone()].concat())
}

/// (latent, hidden 1, hidden 2, nodes): one row, odd widths, a row count no tile divides, the
/// default widths with several tiles per workgroup, a discriminator needing two parameter
/// blocks, second layers narrower and wider than the first (the paper's 32 → 64 → 32), a latent
/// wider than the hidden layers, and a discriminator so wide that its tiles are 4 rows.
const SHAPES: &[(usize, usize, usize, usize)] = &[
    (32, 64, 64, 1),
    (5, 7, 7, 37),
    (3, 13, 13, 130),
    (32, 64, 64, 333),
    (16, 40, 40, 2100),
    (64, 96, 96, 45),
    (32, 64, 32, 333),
    (5, 7, 11, 37),
    (70, 8, 8, 20),
    (40, 200, 150, 23),
];

#[test]
fn a_step_matches_its_twin() {
    let ctx = ctx();
    for (i, &(d, h, h2, n)) in SHAPES.iter().enumerate() {
        let m = mlp2(d, h, h2);
        let x = inputs(&m, n, 10 + i as u64);
        let out = run(ctx, &m, n, &x, true, None);
        let want = disc_fused::forward_backward_cpu(
            &m,
            &to_f64(&x.theta),
            &batch_rows(&x),
            Batch::step(n),
        );
        let what = format!("step d={d} h={h}→{h2} n={n}");
        let loss = total(&m, &out, LOSS_COLUMN) as f32;
        assert_close(&format!("{what}: loss"), &[loss], &[want.loss], 1e-5, 1e-6);
        let grads: Vec<f32> = (0..m.len)
            .map(|e| total(&m, &out, GRAD_COLUMN + e) as f32)
            .collect();
        assert_close(&format!("{what}: grads"), &grads, &want.grads, 1e-4, 1e-6);
    }
}

#[test]
fn the_regulariser_matches_its_twin() {
    let ctx = ctx();
    for (i, &(d, h, h2, n)) in SHAPES.iter().enumerate() {
        let m = mlp2(d, h, h2);
        let x = inputs(&m, n, 30 + i as u64);
        let out = run(ctx, &m, n, &x, false, None);
        let want = disc_fused::forward_backward_cpu(
            &m,
            &to_f64(&x.theta),
            &to_f64(&x.z),
            Batch::regulariser(n),
        );
        let what = format!("regulariser d={d} h={h}→{h2} n={n}");
        let loss = total(&m, &out, LOSS_COLUMN) as f32;
        assert_close(&format!("{what}: loss"), &[loss], &[want.loss], 1e-5, 1e-6);
        assert_close(&format!("{what}: dz"), &out.dz, &want.dx, 1e-4, 1e-7);
    }
}

/// The prior drawn inside the launch is the rng kernel's draw of the same stream, element
/// i·d + c for row i: the step gives the same bits either way. Repeated: the same bits.
#[test]
fn a_drawn_prior_is_the_rng_draw_and_repeats_bit_for_bit() {
    let ctx = ctx();
    let (m, n, seed) = (mlp(32, 64), 150, 0xC0FFEE);
    let mut x = inputs(&m, n, 5);
    let clock = GpuBuffer::from_slice(ctx, "clock", &[3u32, 0, 0, 0]).unwrap();
    let draw = GpuBuffer::<f32>::zeros(ctx, "draw", n * m.d).unwrap();
    let d = rng::bind(ctx, &clock, (&draw).into(), 0, n * m.d, seed, 4).unwrap();
    submit(ctx, "rng", &[&d]);
    x.prior = draw.read_blocking(ctx).unwrap();
    let from_buffer = run(ctx, &m, n, &x, true, None);
    let drawn = run(ctx, &m, n, &x, true, Some(seed));
    let again = run(ctx, &m, n, &x, true, Some(seed));
    let bits = |o: &Out| o.table.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&from_buffer), bits(&drawn), "drawn prior ≠ rng draw");
    assert_eq!(bits(&drawn), bits(&again), "not bit-reproducible");
}

#[test]
fn bad_operands_are_refused() {
    let ctx = ctx();
    let m = mlp(8, 16);
    let n = 10;
    let clock = GpuBuffer::from_slice(ctx, "clock", &[0u32; 4]).unwrap();
    let theta = GpuBuffer::<f32>::zeros(ctx, "theta", m.len).unwrap();
    let z = GpuBuffer::<f32>::zeros(ctx, "z", n * m.d - 1).unwrap();
    let table = GpuBuffer::<f32>::zeros(ctx, "partials", m.row_len()).unwrap();
    let dz = GpuBuffer::<f32>::zeros(ctx, "dz", n * m.d).unwrap();
    let ops = Operands {
        clock: &clock,
        theta: (&theta).into(),
        z: (&z).into(),
        partials: (&table).into(),
        dz: (&dz).into(),
    };
    let prior = Prior::Drawn { seed: 1, stream: 1 };
    let err = disc_fused::bind_step(ctx, &m, Batch::step(n), prior, ops)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`z`"), "{err}");
}
