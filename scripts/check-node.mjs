// The project's scripts run on the Node 24 that the `node` devDependency installs. An install with
// --ignore-scripts (or calling tools outside npm) silently leaves the machine's Node 20 in charge.
const major = Number(process.versions.node.split(".")[0]);
if (major !== 24) {
  console.error(
    `This project's scripts need Node 24 (found ${process.version}). Run them through npm (npm test, npm start) after a normal \`npm ci\`, which installs Node 24 into node_modules/.bin.`,
  );
  process.exit(1);
}
console.log(`node ${process.version}`);
