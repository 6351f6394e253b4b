/** vitest setup file: this worker, Dawn in it and the processes it starts use the driver of $SARASHINA_TEST_ADAPTER. */
import { testAdapterEnv } from './node-gpu';

Object.assign(process.env, testAdapterEnv());
