// Subscribe with the CometD project's JavaScript client (run by tests/integration/test_sandbox_streaming_node.py):
//   node subscribe.js <instance url> <access token> <channel> <replay id> <events to wait for>
// Prints one JSON line per step ("handshake", "subscribe", "event", "error") and exits 0 after the events.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

adapt();
const [url, token, channel, replayArg, wantedArg] = process.argv.slice(2);
const replayId = Number(replayArg);
const wanted = Number(wantedArg);
const say = (what, detail) => process.stdout.write(JSON.stringify({ what, ...detail }) + "\n");

const cometd = new CometD();
cometd.unregisterTransport("websocket");
cometd.configure({ url: `${url}/cometd/67.0`, requestHeaders: { Authorization: `Bearer ${token}` },
                   appendMessageTypeToURL: false, logLevel: "warn" });
// Salesforce's replay: the id to resume from rides in the subscribe message's ext.
cometd.registerExtension("replay", {
  outgoing: (message) => {
    if (message.channel === "/meta/subscribe") {
      message.ext = { ...(message.ext || {}), replay: { [message.subscription]: replayId } };
    }
    return message;
  },
});
let seen = 0;
cometd.addListener("/meta/unsuccessful", (message) => say("error", { message }));
cometd.handshake((reply) => {
  say("handshake", { successful: reply.successful, clientId: reply.clientId, error: reply.error });
  if (!reply.successful) { process.exit(2); }
  cometd.subscribe(channel, (message) => {
    say("event", { channel: message.channel, data: message.data });
    seen += 1;
    if (seen >= wanted) { cometd.disconnect(() => process.exit(0)); }
  }, (sub) => {
    say("subscribe", { successful: sub.successful, error: sub.error });
    if (!sub.successful) { process.exit(3); }
  });
});
setTimeout(() => { say("timeout", { seen }); process.exit(4); }, 60000);
