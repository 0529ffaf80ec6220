import { describe, expect, it } from 'vitest';
import { dockerfileBaseImages, dockerfileExposedPort } from '../../../shared/manifest/parse.js';

describe('dockerfileBaseImages', () => {
  it.each([
    ['one image', 'FROM node:22-alpine\nRUN npm ci\n', ['node:22-alpine']],
    ['a lower-case from with a digest', 'from httpd@sha256:abc\n', ['httpd@sha256:abc']],
    [
      'stage names skipped, case-insensitively',
      'FROM golang:1.22 AS Build\nRUN go build\nFROM build AS test\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\n',
      ['golang:1.22', 'gcr.io/distroless/static'],
    ],
    ['scratch skipped', 'FROM rust:1 AS b\nFROM scratch\nCOPY --from=b /x /x\n', ['rust:1']],
    ['a --platform flag', 'FROM --platform=$BUILDPLATFORM node:22 AS deps\nFROM node:22-slim\n', ['node:22', 'node:22-slim']],
    ['ARG defaults', 'ARG NODE=22\nARG BASE=node:${NODE}-alpine\nFROM ${BASE}\n', ['node:22-alpine']],
    ['a ${X:-default} form', 'ARG TAG\nFROM nginx:${TAG:-1.27}\n', ['nginx:1.27']],
    ['an ARG without a default left out', 'ARG IMAGE\nFROM $IMAGE\nFROM alpine:3.20\n', ['alpine:3.20']],
    ['an ARG after FROM not used for later FROMs', 'FROM alpine AS a\nARG X=busybox\nFROM $X\n', ['alpine']],
    ['repeats once', 'FROM node:22 AS a\nFROM node:22\n', ['node:22']],
    ['continuations and comments', 'FROM \\\n  # the base\n  python:3.12 \\\n  AS app\n', ['python:3.12']],
    ['a heredoc that looks like FROM', 'FROM alpine:3.20\nRUN <<EOF\nFROM evil:latest\nEOF\nFROM busybox\n', ['alpine:3.20', 'busybox']],
    ['the backtick escape directive', '# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\n', ['mcr.microsoft.com/windows/servercore:ltsc2022']],
    ['no FROM at all', '# empty\n', []],
  ])('reads %s', (_, dockerfile, images) => {
    expect(dockerfileBaseImages(dockerfile)).toEqual(images);
  });
});

describe('dockerfileExposedPort', () => {
  it.each([
    ['a plain port', 'FROM node\nEXPOSE 3000\n', 3000],
    ['the first of several', 'FROM node\nEXPOSE 8080 9090\nEXPOSE 7000\n', 8080],
    ['a /tcp suffix', 'FROM node\nEXPOSE 80/tcp\n', 80],
    ['udp skipped for the next tcp port', 'FROM node\nEXPOSE 53/udp 8053\n', 8053],
    ['a range', 'FROM node\nEXPOSE 8000-8010\n', 8000],
    ['an ENV value', 'FROM node\nENV PORT=4000\nEXPOSE $PORT\n', 4000],
    ['a legacy ENV', 'FROM node\nENV PORT 4001\nEXPOSE ${PORT}\n', 4001],
    ['a stage ARG inheriting a global default', 'ARG PORT=5000\nFROM node\nARG PORT\nEXPOSE ${PORT}\n', 5000],
    ['the final stage only', 'FROM node AS build\nEXPOSE 9999\nFROM nginx:1.27\nEXPOSE 80\n', 80],
    ['a port inherited from an earlier stage', 'FROM node AS base\nEXPOSE 3000\nFROM base\nCMD ["node", "."]\n', 3000],
    ['nothing from an external base', 'FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n', undefined],
    ['nothing from an earlier, unrelated stage', 'FROM node AS build\nEXPOSE 3000\nFROM nginx\n', undefined],
    ['an unresolved variable', 'FROM node\nEXPOSE $PORT\n', undefined],
    ['a port out of range', 'FROM node\nEXPOSE 70000\n', undefined],
  ])('reads %s', (_, dockerfile, port) => {
    expect(dockerfileExposedPort(dockerfile)).toBe(port);
  });
});
