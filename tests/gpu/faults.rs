//! Device faults during training: a device destroyed mid-run and an allocation the device
//! refuses after training started each end the fit with an error naming the epoch and what
//! to try, never a panic or a hang. Each test opens its own device (they break it).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use argva::data::{self, split::link_split};
use argva::gpu::GpuContext;
use argva::model::ModelKind;
use argva::train::fit::{Checkpointing, Event, FitError, Validation, fit};
use argva::train::{Prepared, TrainConfig};

/// Trains ARGVA on a small SBM, calling `fault` once the third epoch's losses are in.
fn train_until_fault(ctx: &GpuContext, fault: &dyn Fn(&GpuContext)) -> FitError {
    let spec = data::sbm::SbmSpec::parse("nodes=300,classes=3,degree=8,features=32,seed=1");
    let g = data::sbm::generate(&spec.unwrap()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let p = Prepared::new(&g, &split.train_pos, false);
    let no_host_negatives = |_: &mut rand_chacha::ChaCha8Rng, _: usize| Vec::new();
    let inputs = p.inputs(&split.train_pos, &no_host_negatives);
    let cfg = TrainConfig {
        model: ModelKind::Argva,
        epochs: 200,
        ..TrainConfig::default()
    };
    let val = Validation {
        pos: &split.val_pos,
        neg: &split.val_neg,
        every: 0,
        select_best: false,
    };
    let mut observer = |e: Event<'_>| {
        if let Event::Epoch(l) = e
            && l.epoch == 2
        {
            fault(ctx);
        }
        ControlFlow::Continue(())
    };
    let started = Instant::now();
    let err = fit(
        ctx,
        &cfg,
        &inputs,
        &val,
        &Checkpointing::default(),
        &mut observer,
    )
    .expect_err("training on a faulted device must fail");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the failure took too long"
    );
    err
}

fn own_device() -> GpuContext {
    let mut ctx = GpuContext::new_blocking().expect("GPU tests need an adapter");
    ctx.set_wait_limit(Duration::from_secs(30));
    ctx
}

#[test]
fn a_destroyed_device_ends_training_with_an_error_naming_the_epoch() {
    let ctx = own_device();
    let err = train_until_fault(&ctx, &|ctx| ctx.device.destroy());
    let text = err.to_string();
    eprintln!("{text}");
    assert!(matches!(err, FitError::Device { .. }), "{text}");
    assert!(text.contains("the GPU failed during epoch"), "{text}");
    assert!(text.contains("destroyed"), "{text}");
    assert!(text.contains("--resume"), "{text}");
}

#[test]
fn an_allocation_refused_after_training_started_is_an_error_not_a_panic() {
    let ctx = own_device();
    let err = train_until_fault(&ctx, &|ctx| {
        // More than the device allows in one buffer: refused by the device's validation,
        // reported through its error callback.
        let _ = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("too large"),
            size: ctx.limits.max_buffer_size.saturating_add(1 << 20),
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
    });
    let text = err.to_string();
    eprintln!("{text}");
    assert!(matches!(err, FitError::Device { epoch: 4, .. }), "{text}");
    assert!(
        text.contains("Validation Error: In Device::create_buffer, label = 'too large'"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(
        text.contains("ran out of memory, try a smaller --latent"),
        "{text}"
    );
}
