#!/bin/bash
exec '/Applications/Firefox.app/Contents/MacOS/firefox' "$@"
