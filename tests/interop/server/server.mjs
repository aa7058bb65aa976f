// A real Better Auth IAM for the nno interop tests, shaped like the NNO IAM:
// Better Auth at /oauth with the device-authorization, bearer and admin
// plugins, a `platformId` user field, email+password sign-up, SQLite in a
// temporary file. It listens on 127.0.0.1 only and prints one line,
// `ready http://127.0.0.1:PORT`, once it answers.
//
// Settings, all optional, from the environment:
//   NNO_INTEROP_PORT              port to listen on; 0 or unset picks a free one
//   NNO_INTEROP_DEVICE_INTERVAL   polling interval, a Better Auth time string ("1s")
//   NNO_INTEROP_DEVICE_EXPIRES_IN device code lifetime, a time string ("30m")
//   NNO_INTEROP_EVENT_LOG         file that gets one JSON line per device request
//   NNO_INTEROP_ADMIN_EMAIL       with NNO_INTEROP_ADMIN_PASSWORD: an admin user
//   NNO_INTEROP_ADMIN_PASSWORD    created at start, so tests can set roles
//   NNO_INTEROP_SECRET            Better Auth secret; a random one by default
//   NNO_INTEROP_EXIT_WITH_STDIN   "1": exit when standard input closes, so a
//                                 test runner that dies leaves no server behind

import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { admin, bearer, deviceAuthorization } from "better-auth/plugins";

const HOST = "127.0.0.1";
const BASE_PATH = "/oauth";
const CLIENT_ID = "nno-cli";

const env = process.env;
const requestedPort = Number.parseInt(env.NNO_INTEROP_PORT ?? "0", 10);
const interval = env.NNO_INTEROP_DEVICE_INTERVAL || "5s";
const expiresIn = env.NNO_INTEROP_DEVICE_EXPIRES_IN || "30m";
const eventLog = env.NNO_INTEROP_EVENT_LOG || "";
const secret = env.NNO_INTEROP_SECRET || randomBytes(32).toString("hex");

const dataDir = mkdtempSync(join(tmpdir(), "nno-interop-iam-"));
const database = new Database(join(dataDir, "iam.sqlite"));
const server = createServer(route);

// Whatever ends the server, the temporary database goes with it.
function shutDown(code) {
  server.close();
  try {
    database.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(code);
}

process.on("SIGTERM", () => shutDown(0));
process.on("SIGINT", () => shutDown(0));
if (env.NNO_INTEROP_EXIT_WITH_STDIN === "1") {
  process.stdin.on("end", () => shutDown(0));
  process.stdin.resume();
}

function buildOptions(origin) {
  return {
    baseURL: origin,
    basePath: BASE_PATH,
    secret,
    database,
    trustedOrigins: [origin],
    emailAndPassword: { enabled: true },
    user: {
      additionalFields: {
        platformId: { type: "string", required: false, input: true },
      },
    },
    // The tests sign up, claim and poll far more often than a person would;
    // Better Auth limits /device to 5 calls per code lifetime when this is on.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [
      deviceAuthorization({
        verificationUri: `${origin}/activate`,
        interval,
        expiresIn,
        validateClient: (clientId) => clientId === CLIENT_ID,
      }),
      bearer(),
      admin(),
    ],
  };
}

// What the tests need to see of the device flow, without any code or token:
// when each request came, where it went, and which status and OAuth error
// code went back. The slow_down tests read this file.
async function recordDeviceExchange(request, response, receivedAt) {
  const path = new URL(request.url).pathname;
  if (!eventLog || !path.startsWith(`${BASE_PATH}/device`)) {
    return;
  }
  let error = null;
  try {
    const body = await response.clone().json();
    if (body && typeof body.error === "string") {
      error = body.error;
    }
  } catch {
    // Not JSON: the status alone says enough.
  }
  const event = {
    at: receivedAt,
    method: request.method,
    path,
    contentType: request.headers.get("content-type"),
    status: response.status,
    error,
  };
  appendFileSync(eventLog, `${JSON.stringify(event)}\n`);
}

async function seedAdmin(auth) {
  const email = env.NNO_INTEROP_ADMIN_EMAIL;
  const password = env.NNO_INTEROP_ADMIN_PASSWORD;
  if (!email || !password) {
    return;
  }
  // Called on the server with no request, the admin plugin creates the user
  // without asking for an admin session first.
  await auth.api.createUser({
    body: { email, password, name: "Interop Admin", role: "admin" },
  });
}

function activationPage(res) {
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(
    "This test IAM has no activation form: the tests approve codes through " +
      `${BASE_PATH}/device and ${BASE_PATH}/device/approve.\n`,
  );
}

let handleAuth = null;

function route(req, res) {
  if (req.url === "/activate" || req.url?.startsWith("/activate?")) {
    activationPage(res);
    return;
  }
  if (handleAuth === null) {
    res.writeHead(503, { "content-type": "text/plain" });
    res.end("starting\n");
    return;
  }
  handleAuth(req, res).catch((error) => {
    console.error("request failed:", error);
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "text/plain" });
    }
    res.end();
  });
}

async function start() {
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(requestedPort, HOST, resolve);
  });
  const origin = `http://${HOST}:${server.address().port}`;

  // The base URL must name the real port, which is only known after listen().
  const options = buildOptions(origin);
  const { runMigrations } = await getMigrations(options);
  await runMigrations();
  const auth = betterAuth(options);
  await seedAdmin(auth);

  const handler = async (request) => {
    const receivedAt = Date.now();
    const response = await auth.handler(request);
    await recordDeviceExchange(request, response, receivedAt);
    return response;
  };
  handleAuth = toNodeHandler(handler);

  console.log(`ready ${origin}`);
}

start().catch((error) => {
  console.error("start-up failed:", error);
  shutDown(1);
});
