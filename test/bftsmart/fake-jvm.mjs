// Stand-in for the glue JVM in supervisor tests: speaks the glue link protocol minimally.
// argv: ... cart.bftsmart.GlueMain <behaviour> --port P
//   ready      HELLO, READY, answers SUBMIT with SUBMITTED ok; exits when the link closes
//   fail-start prints an error on stderr and exits 1
//   bad-token  HELLO with a wrong token, then waits
//   silent     HELLO, never READY
//   retry-once exits 75 (retry) if the file after --marker does not exist (creating it), else ready
import { connect } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
const args = process.argv.slice(process.argv.indexOf('cart.bftsmart.GlueMain') + 1);
const behaviour = args[0];
const port = Number(args[args.indexOf('--port') + 1]);
if (behaviour === 'retry-once') {
  const marker = args[args.indexOf('--marker') + 1];
  if (!existsSync(marker)) {
    writeFileSync(marker, 'x');
    process.stderr.write('CART-GLUE RETRY: state not transferred\n');
    process.exit(75);
  }
}
if (behaviour === 'fail-start') {
  process.stderr.write('java.net.BindException: Address already in use\n');
  process.exit(1);
}
const frame = (payload) => {
  const b = Buffer.alloc(4 + payload.length);
  b.writeUInt32BE(payload.length, 0);
  payload.copy(b, 4);
  return b;
};
const sock = connect(port, '127.0.0.1', () => {
  const token = behaviour === 'bad-token' ? 'wrong' : process.env.CART_GLUE_TOKEN;
  sock.write(frame(Buffer.concat([Buffer.from([0x01]), Buffer.from(token)])));
  if (behaviour === 'ready' || behaviour === 'retry-once') sock.write(frame(Buffer.from([0x02, 0, 0, 0, 0])));
});
let buf = Buffer.alloc(0);
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const p = buf.subarray(4, 4 + buf.readUInt32BE(0));
    buf = buf.subarray(4 + p.length);
    if (p[0] === 0x84) sock.write(frame(Buffer.concat([Buffer.from([0x06]), p.subarray(1, 5), Buffer.from([0])])));
  }
});
sock.on('close', () => process.exit(3));
sock.on('error', () => process.exit(3));
