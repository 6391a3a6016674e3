// Command scryptonce runs one scrypt (N=2^ARG, r=8, p=1, as age's
// passphrase recipient) and exits: the benchmarks' "bare scrypt in a fresh
// process", which pays the cold 32 MiB allocation any helper process pays,
// unlike a scrypt repeated in one warm process.
package main

import (
	"log"
	"os"
	"strconv"

	"golang.org/x/crypto/scrypt"
)

func main() {
	logN := 15
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 10 || n > 22 {
			log.Fatalf("work factor %q: want 10..22", os.Args[1])
		}
		logN = n
	}
	if _, err := scrypt.Key([]byte("bench passphrase"), []byte("0123456789abcdef"), 1<<logN, 8, 1, 32); err != nil {
		log.Fatal(err)
	}
}
