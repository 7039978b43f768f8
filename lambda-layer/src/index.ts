/** Entry point of the bundle (`trailhound-extension/index.mjs`) the launcher runs. */
import { runExtension } from './main.js';

const code = await runExtension();
process.exit(code);
