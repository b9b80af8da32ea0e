// What the file link (files/link.js) and the code pipe (auth/pipe.js) share: messages in arrival order, each handed
// to the one reader waiting for it (`box.waiter`), or queued (`box.queue`) until a reader asks.
export function deliver(box, m) {
  if (box.waiter) {
    const w = box.waiter;
    box.waiter = undefined;
    w(m);
  } else box.queue.push(m);
}
