import asyncio


async def coroutine_one():
    await asyncio.sleep(2)
    print("Coroutine One")


async def coroutine_two():
    await asyncio.sleep(1)
    print("Coroutine Two")


async def main():
    await asyncio.gather(coroutine_one(), coroutine_two())


asyncio.run(main())
