// The demo's page: chat, plus the close code/reason each drain sends, and a
// reconnect that honours the `delay_ms` hint.
export const CHAT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ws-sidecar demo chat</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}
#log{border:1px solid #ccc;height:20rem;overflow:auto;padding:.5rem;background:#fafafa}
.sys{color:#666;font-style:italic}
form{display:flex;gap:.5rem;margin-top:.5rem} input{flex:1;padding:.4rem}
</style></head>
<body>
<h1>ws-sidecar demo chat</h1>
<p>This page talks to the app through the sidecar. Trigger a drain
(<code>curl -X POST http://127.0.0.1:9090/drain</code>, or Ctrl-C the demo) and watch the
close code <b>1012</b> with its <code>delay_ms</code> hint arrive; the page reconnects after that delay.</p>
<div id="log"></div>
<form id="f"><input id="msg" autocomplete="off" placeholder="say something"><button>Send</button></form>
<script>
const log = document.getElementById('log');
function show(text, cls) {
  const line = document.createElement('div');
  if (cls) line.className = cls;
  line.textContent = text;
  log.appendChild(line);
  log.scrollTop = log.scrollHeight;
}
let ws;
function connect() {
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');
  ws.onopen = () => show('connected', 'sys');
  ws.onmessage = (event) => { const m = JSON.parse(event.data); show(m.from + ': ' + m.text); };
  ws.onclose = (event) => {
    const hint = /delay_ms=(\\d+)/.exec(event.reason);
    const delay = hint ? Number(hint[1]) : 2000;
    show('closed ' + event.code + (event.reason ? ' "' + event.reason + '"' : '') + '; reconnecting in ' + delay + ' ms', 'sys');
    setTimeout(connect, delay);
  };
}
document.getElementById('f').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('msg');
  if (ws.readyState === WebSocket.OPEN && input.value) ws.send(input.value);
  input.value = '';
};
connect();
</script>
</body></html>
`;
