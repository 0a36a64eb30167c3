#!/usr/bin/env node
// Placeholder until the AssemblyScript kernels land.
