/** Buffer helpers. Buffers that onnxruntime-web reads or writes need STORAGE | COPY_SRC | COPY_DST. */

/** STORAGE | COPY_SRC | COPY_DST as spec values: in Node the `GPUBufferUsage` global exists only after installNodeWebGpu(). */
export const ORT_USAGE = 0x80 | 0x04 | 0x08;

/** Creates a labelled storage buffer (size rounded up to 16 bytes) usable by our kernels and by ORT. */
export function createStorageBuffer(device: GPUDevice, label: string, sizeBytes: number): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(16, Math.ceil(sizeBytes / 16) * 16), usage: ORT_USAGE });
}

/** Creates a storage buffer holding `data`. */
export function uploadBuffer(device: GPUDevice, label: string, data: ArrayBufferView): GPUBuffer {
  const buffer = createStorageBuffer(device, label, data.byteLength);
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** Copies `sizeBytes` from `source` to a mappable buffer and returns the bytes (a test and readback helper). */
export async function readBuffer(device: GPUDevice, source: GPUBuffer, sizeBytes: number, offsetBytes = 0): Promise<ArrayBuffer> {
  const size = Math.ceil(sizeBytes / 4) * 4;
  const staging = device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder({ label: 'readback' });
  encoder.copyBufferToBuffer(source, offsetBytes, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const bytes = staging.getMappedRange().slice(0, sizeBytes);
  staging.unmap();
  staging.destroy();
  return bytes;
}
