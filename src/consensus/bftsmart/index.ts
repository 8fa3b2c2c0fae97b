/**
 * BFT-SMaRt consensus adapter (issue 8). See docs/bftsmart.md.
 *
 * ```ts
 * const replicas = await allocateBftSmartAddresses(4);                  // or the user's hosts
 * writeBftSmartConfig({ home, workDir, replicas });                      // per replica work dir
 * const adapter = createBftSmartAdapter({ home, replicaId: 0, workDir });
 * await adapter.start(proxy);                                            // ~12–14 s
 * await adapter.submit(requestBytes);
 * ```
 */
export { BftSmartAdapter, createBftSmartAdapter } from './adapter.ts';
export type { BftSmartAdapterOptions, BftSmartAdapterStats } from './adapter.ts';
export { BftSmartNativeClient, startBftSmartNativeClient } from './native-client.ts';
export type { BftSmartNativeClientOptions } from './native-client.ts';
export {
  writeBftSmartConfig,
  checkBftSmartHome,
  bftSmartClasspath,
  renderHostsConfig,
  setProperties,
  readSystemProperty,
  readHostsConfig,
} from './config.ts';
export type { BftSmartReplicaAddress, BftSmartConfigOptions } from './config.ts';
export { allocateBftSmartAddresses } from './ports.ts';
export { compileGlue, defaultCacheDir, GLUE_SOURCE_DIR } from './compile.ts';
export { GlueProcess } from './process.ts';
export type { GlueProcessOptions, GlueProcessStats } from './process.ts';
export { sequenceOfConsensus } from './protocol.ts';
export * from './errors.ts';
