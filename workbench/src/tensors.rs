//! Small tensor helpers every layer may use (they depend on burn only).

use burn::tensor::Tensor;

/// A tensor's values as `f64`, whatever the device's float type.
pub fn to_vec<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}
