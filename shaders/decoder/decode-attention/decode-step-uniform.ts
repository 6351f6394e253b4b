/**
 * The per-step uniform of the decode kernels that depend on the token's position (decode attention with its
 * RoPE and cache append): `struct Step { position: u32 }` at offset 0 of a 16-byte uniform buffer.
 * Written once per step with queue.writeBuffer before the step's command buffer is submitted.
 */
export class DecodeStepUniform {
  readonly buffer: GPUBuffer;
  private readonly words = new Uint32Array(4);

  constructor(private readonly device: GPUDevice) {
    this.buffer = device.createBuffer({ label: 'decode-step', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** Sets the position p (0-based row of the KV cache the current token is written to). */
  setPosition(position: number): void {
    this.words[0] = position;
    this.device.queue.writeBuffer(this.buffer, 0, this.words.buffer, 0, 16);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
