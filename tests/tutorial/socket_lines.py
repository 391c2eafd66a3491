import asyncio


async def read_lines(reader):
    while line := await reader.readline():
        yield line.decode().rstrip("\n")


async def send_lines(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(5):
        writer.write(f"line {i}\n".encode())
        await writer.drain()
        await asyncio.sleep(0.01)
    writer.write_eof()
    await writer.drain()
    await reader.read()
    writer.close()
    await writer.wait_closed()


async def main():
    accepted = asyncio.Queue()

    async def on_connect(reader, writer):
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = asyncio.create_task(send_lines(port))
    reader, writer = await accepted.get()
    async for line in read_lines(reader):
        print(f"received: {line}")
    writer.close()
    await client
    server.close()
    await server.wait_closed()


asyncio.run(main())
