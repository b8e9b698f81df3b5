//! The loss of docs/adding-a-loss.md, verbatim, compiled and tested the way the guide says.

mod example {
    //! DPO with a target margin m: −log σ(β h − m).
    use burn::tensor::{Tensor, activation::log_sigmoid};
    use serde::Deserialize;
    use std::sync::Arc;
    use workbench::Registry;
    use workbench::losses::{PairLogProbs, PairwiseLoss, parse_params};
    use workbench::registry::LossEntry;

    /// Its TOML parameters; unknown keys are rejected with the key named.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SigmoidMargin {
        margin: f64,
    }

    impl PairwiseLoss for SigmoidMargin {
        fn label(&self) -> String {
            "sigmoid_margin".into()
        }

        fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
            log_sigmoid(inputs.margin().mul_scalar(beta).sub_scalar(self.margin)).neg()
        }
    }

    pub fn register(registry: &mut Registry) {
        registry.register_loss(
            "sigmoid_margin",
            LossEntry {
                description: "DPO with a target margin: -log σ(β h - m)",
                parameters: "margin = m",
                source: "the guide's example",
                build: |table| Ok(Arc::new(parse_params::<SigmoidMargin>(table)?)),
            },
        );
    }
}

use example::SigmoidMargin;

#[test]
fn the_guide_example_registers_and_passes_its_checks() {
    let mut registry = workbench::Registry::builtin();
    example::register(&mut registry);
    let loss = registry
        .build_loss(&"loss = \"sigmoid_margin\"\nmargin = 0.5".parse().unwrap())
        .unwrap();
    assert_eq!(loss.label(), "sigmoid_margin");
    let error = registry
        .build_loss(&"loss = \"sigmoid_margin\"\nmargn = 0.5".parse().unwrap())
        .unwrap_err();
    assert!(
        error.contains("sigmoid_margin") && error.contains("margn"),
        "{error}"
    );
    use workbench::losses::testing::{SAMPLE_PAIRS, max_gradient_error, values};

    let device = backends::device(backends::BackendName::Flex, backends::Precision::F64).unwrap();
    let loss: SigmoidMargin = toml::from_str("margin = 0.5").unwrap();
    // autodiff against central finite differences, on pairs spread over typical values
    assert!(max_gradient_error(&loss, &SAMPLE_PAIRS, 1.3, &device) < 1e-6);
    // a value you can work out by hand: h = 1 on this pair, so ℓ = softplus(m − β)
    let pair = [[-0.5, -1.5, -1.0, -1.0]];
    let expected = (1.0f64 + (0.5f64 - 2.0).exp()).ln();
    assert!((values(&loss, &pair, 2.0, &device)[0] - expected).abs() < 1e-12);
}
