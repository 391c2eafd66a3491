import asyncio


async def async_gen():
    for i in range(5):
        await asyncio.sleep(1)
        yield i


async def main():
    async for value in async_gen():
        print(value)


asyncio.run(main())
