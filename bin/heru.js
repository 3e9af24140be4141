#!/usr/bin/env node
// Entry point of the `heru` binary; the compiled CLI lives in dist/ (built by `npm ci`).
import '../dist/cli/main.js';
