// GENERATED from proto/cart.proto by src/wire/gen-descriptor.ts — do not edit by hand.
/** protobufjs JSON descriptor of proto/cart.proto (package cart.v1). */
export const CART_DESCRIPTOR = {
  "nested": {
    "cart": {
      "nested": {
        "v1": {
          "nested": {
            "FrameHeader": {
              "fields": {
                "version": {
                  "type": "uint32",
                  "id": 1
                }
              }
            },
            "ClientFrame": {
              "oneofs": {
                "body": {
                  "oneof": [
                    "request"
                  ]
                }
              },
              "fields": {
                "version": {
                  "type": "uint32",
                  "id": 1
                },
                "request": {
                  "type": "Request",
                  "id": 2
                }
              }
            },
            "Request": {
              "fields": {
                "client_public_key": {
                  "type": "bytes",
                  "id": 1
                },
                "request_id": {
                  "type": "uint64",
                  "id": 2
                },
                "operation": {
                  "type": "bytes",
                  "id": 3
                },
                "read_only": {
                  "type": "bool",
                  "id": 4
                },
                "signature": {
                  "type": "bytes",
                  "id": 5
                },
                "fresh": {
                  "type": "uint64",
                  "id": 6
                },
                "ack": {
                  "type": "uint64",
                  "id": 7
                }
              }
            },
            "ReplicaFrame": {
              "oneofs": {
                "body": {
                  "oneof": [
                    "reply",
                    "error"
                  ]
                }
              },
              "fields": {
                "version": {
                  "type": "uint32",
                  "id": 1
                },
                "reply": {
                  "type": "Reply",
                  "id": 2
                },
                "error": {
                  "type": "Error",
                  "id": 3
                }
              }
            },
            "Reply": {
              "fields": {
                "request_id": {
                  "type": "uint64",
                  "id": 1
                },
                "client_id": {
                  "type": "bytes",
                  "id": 2
                },
                "result": {
                  "type": "bytes",
                  "id": 3
                },
                "key_set": {
                  "type": "string",
                  "id": 4
                },
                "sequence": {
                  "type": "uint64",
                  "id": 5
                },
                "root": {
                  "type": "bytes",
                  "id": 6
                },
                "leaf_index": {
                  "type": "uint32",
                  "id": 7
                },
                "leaf_count": {
                  "type": "uint32",
                  "id": 8
                },
                "proof": {
                  "rule": "repeated",
                  "type": "bytes",
                  "id": 9
                },
                "group_signature": {
                  "type": "bytes",
                  "id": 10
                },
                "replica": {
                  "type": "uint32",
                  "id": 11
                },
                "preferred_contact": {
                  "type": "uint32",
                  "id": 12
                }
              }
            },
            "ErrorCode": {
              "values": {
                "ERROR_UNSPECIFIED": 0,
                "UNSUPPORTED_VERSION": 1,
                "MALFORMED": 2,
                "TOO_LARGE": 3,
                "BAD_SIGNATURE": 4,
                "STALE_REQUEST": 5,
                "OVERLOADED": 6,
                "UNAVAILABLE": 7,
                "READ_ONLY_FAILED": 8,
                "STALE_FRESHNESS": 9,
                "BUSY": 10,
                "RESULT_UNAVAILABLE": 11
              }
            },
            "Error": {
              "fields": {
                "request_id": {
                  "type": "uint64",
                  "id": 1
                },
                "code": {
                  "type": "ErrorCode",
                  "id": 2
                },
                "message": {
                  "type": "string",
                  "id": 3
                },
                "supported_version": {
                  "type": "uint32",
                  "id": 4
                },
                "sequence": {
                  "type": "uint64",
                  "id": 5
                }
              }
            },
            "PeerFrame": {
              "oneofs": {
                "body": {
                  "oneof": [
                    "share",
                    "share_request",
                    "read_only_batch",
                    "read_only_batch_share"
                  ]
                }
              },
              "fields": {
                "version": {
                  "type": "uint32",
                  "id": 1
                },
                "share": {
                  "type": "Share",
                  "id": 2
                },
                "share_request": {
                  "type": "ShareRequest",
                  "id": 3
                },
                "read_only_batch": {
                  "type": "ReadOnlyBatch",
                  "id": 6
                },
                "read_only_batch_share": {
                  "type": "ReadOnlyBatchShare",
                  "id": 7
                }
              },
              "reserved": [
                [
                  4,
                  4
                ],
                [
                  5,
                  5
                ]
              ]
            },
            "Share": {
              "fields": {
                "key_set": {
                  "type": "string",
                  "id": 1
                },
                "sequence": {
                  "type": "uint64",
                  "id": 2
                },
                "root": {
                  "type": "bytes",
                  "id": 3
                },
                "leaf_count": {
                  "type": "uint32",
                  "id": 4
                },
                "signer": {
                  "type": "uint32",
                  "id": 5
                },
                "signature": {
                  "type": "bytes",
                  "id": 6
                }
              }
            },
            "ShareRequest": {
              "fields": {
                "key_set": {
                  "type": "string",
                  "id": 1
                },
                "sequence": {
                  "type": "uint64",
                  "id": 2
                }
              }
            },
            "ReadOnlyBatch": {
              "fields": {
                "batch_id": {
                  "type": "uint64",
                  "id": 1
                },
                "requests": {
                  "rule": "repeated",
                  "type": "bytes",
                  "id": 2
                }
              }
            },
            "ReadOnlyBatchShare": {
              "fields": {
                "batch_id": {
                  "type": "uint64",
                  "id": 1
                },
                "leaves": {
                  "rule": "repeated",
                  "type": "bytes",
                  "id": 2
                },
                "results": {
                  "rule": "repeated",
                  "type": "bytes",
                  "id": 3
                },
                "signer": {
                  "type": "uint32",
                  "id": 4
                },
                "signature": {
                  "type": "bytes",
                  "id": 5
                }
              }
            }
          }
        }
      }
    }
  }
} as const;
