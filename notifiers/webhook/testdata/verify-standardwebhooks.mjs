// Verifies one webhook call with the standardwebhooks npm package, as a
// receiver written in Node.js does, for standardwebhooks_test.go.
//
// Usage: node verify-standardwebhooks.mjs NODE_MODULES SECRET_FILE HEADERS_FILE PAYLOAD_FILE
//
// NODE_MODULES is the node_modules folder that contains standardwebhooks.
// HEADERS_FILE is a JSON object of header names in lower case and their
// values. PAYLOAD_FILE holds the exact bytes that were signed: the body, or
// the request id for a call without a body.
//
// Exit status: 0 when the call verifies, 1 when the library rejects it with
// WebhookVerificationError, 2 on any other failure, so that the test can
// tell a rejected call from a broken set-up.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [nodeModules, secretFile, headersFile, payloadFile] = process.argv.slice(2);
if (!payloadFile) {
  console.error("usage: node verify-standardwebhooks.mjs NODE_MODULES SECRET_FILE HEADERS_FILE PAYLOAD_FILE");
  process.exit(2);
}

let library;
try {
  // standardwebhooks is a CommonJS package outside this file's folder tree,
  // so it is loaded with a require function that resolves from NODE_MODULES.
  library = createRequire(join(nodeModules, "resolve-from-here.js"))("standardwebhooks");
} catch (error) {
  console.error(`loading standardwebhooks from ${nodeModules} failed: ${error.message}`);
  process.exit(2);
}

try {
  const secret = readFileSync(secretFile, "utf8").trim();
  const headers = JSON.parse(readFileSync(headersFile, "utf8"));
  const payload = readFileSync(payloadFile);
  new library.Webhook(secret).verify(payload, headers, { jsonParse: false });
  console.log("verified");
} catch (error) {
  console.error(`${error.name}: ${error.message}`);
  process.exit(error instanceof library.WebhookVerificationError ? 1 : 2);
}
