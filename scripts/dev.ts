// `npm run dev -- <command> ...`: rtc-cli from the TypeScript sources (tsx), as bin/rtc-cli.js runs the built dist/.
import { main } from '../src/cli.js';

await main();
