// Exits with one line when this Node is older than package.json's engines.node (">=X.Y"): run by
// `npm start`, `npm test` and the forcehook CLI before anything else loads. Plain CommonJS and old
// syntax on purpose: it has to run on the Node it refuses.
'use strict';
var path = require('path');
var wanted = require(path.join(__dirname, '..', 'package.json')).engines.node.replace(/^>=\s*/, '');
var need = wanted.split('.').map(Number);
var have = process.versions.node.split('.').map(Number);
var older = have[0] !== need[0] ? have[0] < need[0] : (have[1] || 0) < (need[1] || 0);
if (older) {
  console.error(
    'forcehook needs Node.js ' + wanted + ' or newer, this is ' + process.version +
      ': install Node 22 (nvm install 22, or npm install --prefix ~/.n22 node@22 and put ~/.n22/node_modules/node/bin first on PATH), then run the command again'
  );
  process.exit(1);
}
