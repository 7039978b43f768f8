#!/usr/bin/env node
// Entry point of the `trailhound` command: the CLI is bundled to dist/ by `npm run build`.
import '../dist/trailhound.js';
