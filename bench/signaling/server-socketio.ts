// Reference: the seed's socket.io room server: join / joined / otherjoin / full / message relayed with
// socket.to(room).emit. One deliberate fix: the seed counts io.engine.clientsCount (every connection on the server)
// against the room size, which would refuse everyone after the second client; here the room's own member count is
// used, as the seed clearly meant (with the Redis adapter that count is this instance's members only: socket.io's
// rooms are per instance, so the cap is not enforced across instances; the relay path, which the benchmark measures,
// goes through the adapter). With REDIS_URL it uses @socket.io/redis-adapter, the documented way to run several
// socket.io servers. Prints {"port":N}.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

const MAX_NUMS = 2;
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });
const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}

io.on('connection', (socket) => {
  socket.on('message', (room: string, data: unknown) => {
    socket.to(room).emit('message', room, data);
  });
  socket.on('join', (room: string) => {
    void socket.join(room);
    const users = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    if (users <= MAX_NUMS) {
      socket.emit('joined', room, socket.id);
      if (users > 1) socket.to(room).emit('otherjoin', room, socket.id);
    } else {
      void socket.leave(room);
      socket.emit('full', room, socket.id);
    }
  });
  socket.on('leave', (room: string) => {
    socket.to(room).emit('bye', room, socket.id);
    socket.emit('leaved', room, socket.id);
  });
});

http.listen(0, '127.0.0.1', () => {
  const addr = http.address();
  process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n');
});
const stop = (): void => {
  void io.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
