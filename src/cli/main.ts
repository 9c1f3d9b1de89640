/** Entry point of the `weft` binary (bin/weft.js loads this, built or through tsx). */
import { processIO } from './io.js';
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), processIO());
// Exit explicitly: an activity left running by user code must not keep a finished run alive.
process.exit(code);
