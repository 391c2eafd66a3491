def echo():
    while True:
        value = yield
        print(value)


gen = echo()
next(gen)
gen.send('Hello!')
gen.send('World!')
