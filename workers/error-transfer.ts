/**
 * Comlink's 'throw' transfer handler, extended so that a SarashinaError thrown in the worker arrives on
 * the client as a SarashinaError with its code and details (comlink alone sends only message and name).
 * Installed on both sides; other errors keep comlink's behaviour.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { SarashinaError, type SerializedError } from '../src/protocol/errors';

interface SerializedThrow {
  readonly sarashina?: SerializedError;
}

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const original = transferHandlers.get('throw') as TransferHandler<{ value: unknown }, unknown> | undefined;
  if (!original) throw new Error('comlink has no "throw" transfer handler');
  const handler: TransferHandler<{ value: unknown }, unknown> = {
    canHandle: (value): value is { value: unknown } => original.canHandle(value),
    serialize(thrown) {
      if (thrown.value instanceof SarashinaError) return [{ sarashina: thrown.value.toJSON() } satisfies SerializedThrow, []];
      return original.serialize(thrown);
    },
    deserialize(serialized) {
      const s = serialized as SerializedThrow;
      if (typeof s === 'object' && s !== null && SarashinaError.isSerialized(s.sarashina)) throw SarashinaError.fromJSON(s.sarashina);
      return original.deserialize(serialized);
    },
  };
  transferHandlers.set('throw', handler);
}
