# A WebSocket echo app on Python's `websockets` (Debian's python3-websockets):
# an independent, strict implementation that fails the connection on protocol
# errors (close 1002, then TCP close), unlike a Node `ws` app. Prints its port.
import asyncio

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
