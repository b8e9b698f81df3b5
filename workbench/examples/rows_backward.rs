//! A minimal reproduction of why burn's `Linear` trains slowly on a `[batch, time, d]`
//! input on the flex backend, and of the workaround the transformer uses
//! (`workbench::sequence::rows`).
//!
//! burn 0.22's `linear` keeps such an input batched: each sequence is multiplied by the
//! weight broadcast to `[1, d, e]`, so the backward pass computes `batch` per-sequence
//! weight gradients and sums them with `sum_dim` over the leading dimension, and sums the
//! broadcast bias's gradient the same way. burn-flex's `sum_dim` over a leading dimension
//! is a generic strided loop in f64. On rows `[batch · time, d]` the weight gradient is one
//! matrix product, and a bias repeated by a product with a column of ones gets its
//! gradient from one more.
//!
//! ```text
//! cargo run --release -p workbench --no-default-features --example rows_backward -- f64
//! cargo run --release -p workbench --no-default-features --example rows_backward -- f32
//! ```
//!
//! (A device's float type is fixed at its first use in a process, hence one dtype a run.)

use backends::{BackendName, Precision};
use burn::nn::LinearConfig;
use burn::tensor::{Distribution, Tensor};
use std::time::Instant;
use workbench::sequence::rows;
use workbench::tensors::to_vec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (batch, time, width, repeats) = (128, 18, 32, 200);
    let name = std::env::args().nth(1).unwrap_or_else(|| "f64".into());
    let precision = match name.as_str() {
        "f32" => Precision::F32,
        "f64" => Precision::F64,
        other => return Err(format!("dtype {other:?}: expected f32 or f64").into()),
    };
    let device = backends::device(BackendName::Flex, precision)?;
    let layer = LinearConfig::new(width, width).init(&device);
    let x = Tensor::<3>::random([batch, time, width], Distribution::Default, &device);
    let time_it = |label: &str, step: &dyn Fn() -> Tensor<1>| {
        let start = Instant::now();
        let mut check = 0.0;
        for _ in 0..repeats {
            let loss = step();
            let grads = loss.backward();
            check += to_vec(layer.weight.grad(&grads).expect("a weight gradient").sum())[0];
        }
        let per_step = start.elapsed().as_secs_f64() / repeats as f64;
        println!(
            "{name} {label}: {:.1} µs a forward + backward (check: {check:.6e})",
            per_step * 1e6
        );
    };
    time_it("burn Linear on [batch, time, d]", &|| {
        layer.forward(x.clone()).sum()
    });
    let flat = x.clone().reshape([batch * time, width]);
    let ones = rows::ones_column(&flat);
    time_it("rows::linear on [batch·time, d]", &|| {
        rows::linear(&layer, flat.clone(), &ones).sum()
    });
    Ok(())
}
