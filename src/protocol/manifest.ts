export type Precision = 'fp32' | 'q4f32' | 'q4f16';
