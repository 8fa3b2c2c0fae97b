/**
 * Generates `src/wire/cart-descriptor.ts` (a protobufjs JSON descriptor) from `proto/cart.proto`,
 * which stays the single source of truth for the wire format. Run after editing the .proto:
 *
 *     node --import tsx src/wire/gen-descriptor.ts
 *
 * The runtime codecs load the generated descriptor (no file-system access, so the client can be
 * bundled for browsers); `test/cart/wire.test.ts` fails when the descriptor is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** Absolute path of `proto/cart.proto`. */
export const PROTO_PATH = fileURLToPath(new URL('../../proto/cart.proto', import.meta.url));
/** Absolute path of the generated descriptor module. */
export const DESCRIPTOR_PATH = fileURLToPath(new URL('./cart-descriptor.ts', import.meta.url));

/** Parses the .proto text and returns the TypeScript source of the descriptor module. */
export function renderDescriptor(protoText: string): string {
  const parsed = protobuf.parse(protoText, { keepCase: true });
  const json = JSON.stringify(parsed.root.toJSON(), null, 2);
  return (
    '// GENERATED from proto/cart.proto by src/wire/gen-descriptor.ts — do not edit by hand.\n' +
    '/** protobufjs JSON descriptor of proto/cart.proto (package cart.v1). */\n' +
    `export const CART_DESCRIPTOR = ${json} as const;\n`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DESCRIPTOR_PATH, renderDescriptor(readFileSync(PROTO_PATH, 'utf8')));
  console.log(`wrote ${DESCRIPTOR_PATH}`);
}
