// Stands in for the `ws` package in the browser bundle: the SDK's Node-side watch() is not used by
// the UI (it has src/live.ts on the browser's own WebSocket), so reaching this is a bug.
export default class NodeWebSocketUnavailable {
  constructor() {
    throw new Error('the ws package is not available in the browser; use web/src/live.ts');
  }
}
