// Starts a local S3 server (npm s3rver) for musrec's tests.
//
//   node s3rver_launch.mjs --dir DIR --bucket NAME [--port P] [--access-key K --secret-key S]
//                          [--throttle BYTES_PER_S]
//
// Listens on 127.0.0.1 (port 0 = any free port), creates the bucket, and
// prints "ready PORT" on stdout once it accepts connections. With --throttle,
// clients talk to a small TCP proxy that sends the server's bytes at about
// that rate, so a test can kill the server in the middle of a download.
// Objects live under DIR, so a restarted server on the same DIR and port
// serves the same objects.
import net from 'node:net';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

const opt = { port: '0', dir: '', bucket: '', 'access-key': '', 'secret-key': '', throttle: '0' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!(k in opt) || argv[i + 1] === undefined) {
    console.error(`s3rver_launch: bad option ${argv[i]}`);
    process.exit(2);
  }
  opt[k] = argv[i + 1];
}
if (!opt.dir || !opt.bucket) {
  console.error('s3rver_launch: --dir and --bucket are required');
  process.exit(2);
}
if (opt['access-key']) AWSAccount.DUMMY_ACCOUNT.createKeyPair(opt['access-key'], opt['secret-key']);

const throttle = Number(opt.throttle);
const server = new S3rver({
  address: '127.0.0.1',
  port: throttle > 0 ? 0 : Number(opt.port),
  directory: opt.dir,
  silent: false,
  vhostBuckets: false,
  configureBuckets: [{ name: opt.bucket }],
});
const { port: innerPort } = await server.run();

let publicPort = innerPort;
if (throttle > 0) {
  const proxy = net.createServer((client) => {
    const upstream = net.connect(innerPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      upstream.pause();
      client.write(chunk);
      setTimeout(() => upstream.resume(), (chunk.length / throttle) * 1000);
    });
    upstream.on('end', () => client.end());
    const close = () => { client.destroy(); upstream.destroy(); };
    upstream.on('error', close);
    client.on('error', close);
  });
  await new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(Number(opt.port), '127.0.0.1', resolve);
  });
  publicPort = proxy.address().port;
}
console.log(`ready ${publicPort}`);
const stop = async () => { await server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
