//! GPU timestamps, read back without blocking (awaitable natively and in a browser).

use super::{GpuContext, GpuResult};

/// Records `record` into one command buffer with a timestamp query set of `count` queries,
/// submits it, and returns every query's time in nanoseconds (the adapter must offer
/// `TIMESTAMP_QUERY`).
pub async fn timestamps(
    ctx: &GpuContext,
    count: u32,
    record: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::QuerySet),
) -> GpuResult<Vec<f64>> {
    let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("timestamps"),
        ty: wgpu::QueryType::Timestamp,
        count,
    });
    let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("timestamps"),
        size: count as u64 * 8,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("timestamps"),
        });
    record(&mut enc, &queries);
    enc.resolve_query_set(&queries, 0..count, &resolve, 0);
    ctx.queue.submit([enc.finish()]);
    let ticks: Vec<u64> =
        super::buffer::read_buffer(ctx, &resolve, count as usize, "timestamps").await?;
    let period = ctx.queue.get_timestamp_period() as f64;
    Ok(ticks.iter().map(|&t| t as f64 * period).collect())
}
