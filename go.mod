module jcsync

go 1.26.0
