#!/usr/bin/env node
import { runAsk } from "./askCommand.js";

void runAsk(process.argv.slice(2));
