#!/usr/bin/env node
// Launcher kept in the repository so npm can link the bin before the build; the
// program itself is built by `tsc -b` into dist/bin.js.
import '../dist/bin.js';
