//! Arrays larger than one storage binding.
//!
//! Devices cap a single storage binding (`max_storage_buffer_binding_size`: 128 MiB on
//! lavapipe and WebGPU's default) far below what they let a buffer hold (2 GiB on lavapipe).
//! argva keeps each large array in one buffer and binds it in pieces:
//! - kernels whose rows are independent (dense layers, elementwise passes, weight gradients
//!   summed chunk by chunk) run once per row chunk, each binding at a byte offset
//!   ([`chunk_rows`], [`row_chunks`]);
//! - kernels that gather rows from anywhere (the GCN propagation Â·H, the decoder's pair
//!   lookups) bind the array as up to [`MAX_WINDOWS`] consecutive windows and pick the window
//!   from the row index ([`Windows`]).
//!
//! On a device whose binding limit holds every array, every array is one chunk and one
//! window, and the kernels take their plain entry points.

use std::num::NonZeroU64;

use super::{Arg, GpuContext, GpuError, GpuResult};

/// Consecutive windows a gathering kernel reads one array through. Two keep every gather
/// kernel within WebGPU's default of 8 storage bindings per stage.
pub const MAX_WINDOWS: usize = 2;

/// Rows of `row_bytes` bytes that one binding holds, as a multiple of the rows that keep a
/// chunk's byte offset on the device's storage-offset alignment (64 rows of 4-byte rows at
/// the usual 256-byte alignment). At least one aligned step, even if that is over the limit
/// (the binding check then names the array).
pub fn rows_per_binding(ctx: &GpuContext, row_bytes: u64) -> usize {
    rows_per_limit(
        ctx.max_binding_bytes(),
        ctx.limits.min_storage_buffer_offset_alignment as u64,
        row_bytes,
    )
}

/// Rows per chunk for launches that bind several row-major arrays of different widths at the
/// same rows, the widest `widest_row_bytes` wide: what one binding holds of the widest, as a
/// multiple of the rows that keep every array's chunk offsets aligned down to 4-byte rows
/// (64 rows at the usual 256-byte alignment). At least one such step.
pub fn chunk_rows(ctx: &GpuContext, widest_row_bytes: u64) -> usize {
    let step = (ctx.limits.min_storage_buffer_offset_alignment as usize / 4).max(1);
    ((ctx.max_binding_bytes() / widest_row_bytes.max(1)) as usize / step).max(1) * step
}

/// [`rows_per_binding`] for a given limit and alignment (the engine's buffer plan uses it
/// before any buffer exists).
pub fn rows_per_limit(limit: u64, align: u64, row_bytes: u64) -> usize {
    let row_bytes = row_bytes.max(1);
    let step = align / gcd(row_bytes, align);
    let rows = limit / row_bytes;
    ((rows / step).max(1) * step) as usize
}

/// Most bytes an array of `row_bytes`-byte rows may hold to be gathered through
/// [`MAX_WINDOWS`] bindings of `limit` bytes: the first window ends on a whole, aligned row
/// ([`rows_per_limit`]), the rest take what is left. Shared by [`Windows::of`] and the
/// engine's up-front check, so the two cannot disagree.
pub fn gather_capacity(limit: u64, align: u64, row_bytes: u64) -> u64 {
    let first = rows_per_limit(limit, align, row_bytes) as u64 * row_bytes.max(1);
    if first > limit {
        limit // a row wider than one binding: only an array that fits one binding
    } else {
        first + limit * (MAX_WINDOWS as u64 - 1)
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `[start, end)` row ranges of at most `per` rows covering `0..total`, in order; one empty
/// range for `total = 0` so that callers still bind (and skip) their launch.
pub fn row_chunks(total: usize, per: usize) -> Vec<(usize, usize)> {
    if total == 0 {
        return vec![(0, 0)];
    }
    let per = per.max(1);
    (0..total.div_ceil(per))
        .map(|c| (c * per, ((c + 1) * per).min(total)))
        .collect()
}

/// One array bound as two consecutive windows: elements `< split` through `lo`, the rest
/// through `hi` at index `e − split`. `split` is a whole number of rows.
#[derive(Clone, Copy, Debug)]
pub struct Windows<'a> {
    pub lo: Arg<'a>,
    pub hi: Arg<'a>,
    pub split: usize,
}

impl<'a> Windows<'a> {
    /// `None` when `arg` fits one binding (the caller binds it whole); otherwise the array
    /// (4-byte elements, rows of `row_elems`) split after as many whole rows as one binding
    /// holds. An array that needs more than [`MAX_WINDOWS`] bindings is `BufferTooLarge`.
    pub fn of(
        ctx: &GpuContext,
        what: &str,
        arg: Arg<'a>,
        row_elems: usize,
    ) -> GpuResult<Option<Self>> {
        let limit = ctx.max_binding_bytes();
        let bytes = arg.len_bytes();
        if bytes <= limit {
            return Ok(None);
        }
        let align = ctx.limits.min_storage_buffer_offset_alignment as u64;
        let capacity = gather_capacity(limit, align, row_elems as u64 * 4);
        if bytes > capacity {
            return Err(GpuError::BufferTooLarge {
                what: format!("{what} (read through {MAX_WINDOWS} bindings at most)"),
                bytes,
                limit: capacity,
                limit_name: "max_storage_buffer_binding_size × 2",
            });
        }
        let split = rows_per_binding(ctx, row_elems as u64 * 4) * row_elems.max(1);
        let lo_bytes = split as u64 * 4;
        let hi_bytes = bytes - lo_bytes;
        let piece = |offset: u64, size: u64| Arg {
            buffer: arg.buffer,
            offset: arg.offset + offset,
            size: NonZeroU64::new(size),
        };
        Ok(Some(Windows {
            lo: piece(0, lo_bytes),
            hi: piece(lo_bytes, hi_bytes),
            split,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_per_limit_keeps_offsets_aligned() {
        // 64-float rows (256 B): every row boundary is aligned.
        assert_eq!(rows_per_limit(128 << 20, 256, 256), 524_288);
        // 4-byte rows need steps of 64 rows; 12-byte rows steps of 64 too (gcd 4).
        assert_eq!(rows_per_limit(1000, 256, 4), 192);
        assert_eq!(rows_per_limit(100_000, 256, 12) % 64, 0);
        for row_bytes in [4u64, 8, 12, 24, 128, 260, 1024] {
            let r = rows_per_limit(1 << 20, 256, row_bytes) as u64;
            assert_eq!(r * row_bytes % 256, 0, "{row_bytes}");
            assert!(r * row_bytes <= 1 << 20, "{row_bytes}");
        }
        // A row wider than the limit still gets one aligned step (the binding check reports it).
        assert_eq!(rows_per_limit(100, 256, 256), 1);
    }

    #[test]
    fn gather_capacity_is_an_aligned_first_window_plus_one_binding() {
        // 64-float rows: the first window is the whole limit.
        assert_eq!(gather_capacity(1 << 20, 256, 256), 2 << 20);
        // 12-byte rows: the first window stops at 99 840 bytes (8 320 rows, a multiple of 64).
        assert_eq!(gather_capacity(100_000, 256, 12), 99_840 + 100_000);
        // A row wider than one binding: nothing past one binding.
        assert_eq!(gather_capacity(100, 256, 256), 100);
    }

    #[test]
    fn row_chunks_cover_in_order() {
        assert_eq!(row_chunks(0, 64), vec![(0, 0)]);
        assert_eq!(row_chunks(10, 64), vec![(0, 10)]);
        assert_eq!(row_chunks(130, 64), vec![(0, 64), (64, 128), (128, 130)]);
        assert_eq!(row_chunks(128, 64), vec![(0, 64), (64, 128)]);
    }
}
