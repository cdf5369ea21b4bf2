// SPDX-License-Identifier: BSD-3-Clause
// node-ws echo check: COUNT text and COUNT binary messages of SIZE bytes, each echo verified byte for
// byte; prints one JSON line {"extensions": …, "echoed": n}. Exit 1 on any mismatch or error.
const WebSocket = require('ws');
const crypto = require('crypto');

const [url, countArg, sizeArg, mode] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const size = parseInt(sizeArg, 10);
const ws = new WebSocket(url, { perMessageDeflate: mode === 'deflate' });
let i = 0;
let expected = null;
let echoed = 0;

function sendNext() {
  if (echoed === 2 * count) {
    console.log(JSON.stringify({ extensions: ws.extensions, echoed }));
    ws.close(1000);
    return;
  }
  if (echoed % 2 === 0) {
    expected = (i + ':' + 'The quick brown fox jumps over the lazy dog. '.repeat(size / 44 + 1)).slice(0, size + String(i).length + 1);
    ws.send(expected);
  } else {
    expected = crypto.randomBytes(size);
    ws.send(expected);
    ++i;
  }
}

ws.on('open', sendNext);
ws.on('message', (data, isBinary) => {
  const ok = isBinary ? Buffer.compare(data, expected) === 0 : data.toString() === expected;
  if (!ok) {
    console.error('echo ' + echoed + ' differs');
    process.exit(1);
  }
  ++echoed;
  sendNext();
});
ws.on('error', (e) => { console.error(String(e)); process.exit(1); });
