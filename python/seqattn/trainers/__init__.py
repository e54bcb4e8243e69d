"""Training: the Trainer mixin (compile/fit/evaluate/predict), the data adapter and the
epoch tracker."""
