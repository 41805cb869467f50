// Command presso is the Presso rendering service and its tools.
//
//	presso serve  [--config FILE] [--set key=value ...]
//	presso render (--url URL | --html FILE) [--screenshot] -o OUT
//	presso secret
//	presso version
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "render":
		err = runRender(os.Args[2:])
	case "secret":
		fmt.Println(newSecret())
	case "version", "--version":
		fmt.Println("presso", version)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "presso: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "presso:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Presso renders HTML or a URL to a PDF or a screenshot with Chromium.

Commands:
  serve    run the HTTP service (see configs/presso.yaml for every setting)
  render   render one document in this process and write it to a file
  secret   print a new webhook signing secret for auth.keys[].signing_secret
  version  print the version

Run "presso COMMAND -h" for the flags of a command.
`)
}
