/**
 * Import rules for src/, checked by `npm run lint` (and so by CI): `npx depcruise src` prints every violation.
 *
 * The layers, top to bottom (README "Architecture"):
 *   entry      src/cli.ts, src/cli/*          flags, output, exit codes
 *   commands   src/commands/*                 one thin file per command: parse flags, call one library function
 *   features   src/diagnostics, src/rtc, src/signaling
 *   protocol   src/turn -> src/stun           STUN/TURN codec glue, transactions, servers, clients
 *   werift and Node
 * src/net (IP literals as bytes and text) sits beside the layers: any of them may use it, it uses none.
 * A layer may import the layers below it, never those above. Type-only imports count: a cycle of types is still a
 * cycle for the reader.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle anywhere in src (static, dynamic or type-only imports): split the shared part into its own module.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'library-not-to-cli',
      severity: 'error',
      comment: 'Library code (src/rtc, src/signaling, src/stun, src/turn, src/diagnostics) never imports the command layer: it returns results and throws errors, the commands render them.',
      from: { path: '^src/(rtc|signaling|stun|turn|diagnostics)/' },
      to: { path: '^src/(cli|commands)(/|\\.ts$)' },
    },
    {
      name: 'protocol-not-to-features',
      severity: 'error',
      comment: 'The STUN/TURN protocol layer (src/stun, src/turn) never imports the features built on it (src/diagnostics, src/rtc, src/signaling): they map its errors, not the other way round.',
      from: { path: '^src/(stun|turn)/' },
      to: { path: '^src/(diagnostics|rtc|signaling)/' },
    },
    {
      name: 'stun-not-to-turn',
      severity: 'error',
      comment: 'TURN is built on STUN (RFC 8656 §3): src/stun never imports src/turn.',
      from: { path: '^src/stun/' },
      to: { path: '^src/turn/' },
    },
    {
      name: 'net-is-a-leaf',
      severity: 'error',
      comment: 'src/net (IP literals and their bytes) is used by every layer, so it imports nothing else from src.',
      from: { path: '^src/net/' },
      to: { path: '^src/(?!net/)' },
    },
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'Shipped code must not need a devDependency (the installed package has none).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unlisted-packages',
      severity: 'error',
      comment: 'Every package src imports is listed in package.json.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // src/web is browser code served as files, not part of the Node import graph.
    exclude: { path: '^src/web/' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
