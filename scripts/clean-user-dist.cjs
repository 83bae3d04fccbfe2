// Before a build: remove the compiled user code (dist/handlers, dist/mappings, dist/examples), so a
// handler deleted from handlers/ does not keep running from a stale dist/handlers/*.js.
var fs = require('node:fs');
var path = require('node:path');
var root = path.join(__dirname, '..');
['handlers', 'mappings', 'examples'].forEach(function (dir) {
  fs.rmSync(path.join(root, 'dist', dir), { recursive: true, force: true });
});
