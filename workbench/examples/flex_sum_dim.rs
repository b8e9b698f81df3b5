//! A minimal reproduction of a burn-flex 0.22 slow path: `sum_dim` over a leading dimension
//! (what autodiff runs to reduce a broadcast gradient) has a SIMD path for f32 only; f64
//! takes a generic strided loop. The transformer used to spend a quarter of an f64 run
//! there; it now avoids the reduction (`workbench::sequence::rows`, and the
//! `rows_backward` example).
//!
//! ```text
//! cargo run --release -p workbench --no-default-features --example flex_sum_dim -- f32
//! cargo run --release -p workbench --no-default-features --example flex_sum_dim -- f64
//! ```
//!
//! (A device's float type is fixed at its first use in a process, hence one dtype a run.)

use burn::tensor::{FloatDType, Tensor};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (rows, cols, repeats) = (128 * 24, 64, 200);
    let name = std::env::args().nth(1).unwrap_or_else(|| "f64".into());
    let dtype = match name.as_str() {
        "f32" => FloatDType::F32,
        "f64" => FloatDType::F64,
        other => return Err(format!("dtype {other:?}: expected f32 or f64").into()),
    };
    {
        let mut device = burn::tensor::Device::flex();
        device.configure(dtype).map_err(|e| format!("{e:?}"))?;
        let x = Tensor::<2>::ones([rows, cols], &device);
        let start = Instant::now();
        let mut total = 0.0;
        for _ in 0..repeats {
            total += workbench::tensors::to_vec(x.clone().sum_dim(0))[0];
        }
        let per_call = start.elapsed().as_secs_f64() / repeats as f64;
        println!(
            "{name}: sum_dim(0) of [{rows}, {cols}] takes {:.1} µs (check: {total})",
            per_call * 1e6
        );
    }
    Ok(())
}
