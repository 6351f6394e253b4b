// The dense layers' activations (EPILOGUE, an override of the kernel that includes this: 1 quick-GELU, 2 GELU with
// erf, else none), shared by vision-linear.wgsl and vision-linear-mma.ts.

// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7).
fn erf4(v: vec4<f32>) -> vec4<f32> {
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(v) * (1.0 - poly * exp(-a * a));
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (EPILOGUE == 1u) {
    return v / (1.0 + exp(-1.702 * v));
  }
  if (EPILOGUE == 2u) {
    return 0.5 * v * (1.0 + erf4(v * 0.70710678118654752));
  }
  return v;
}
