"""Secret redaction: every kind in realistic context, stable keyed markers, no false positives on
things Blackbox keeps for correlation, and a prefilter that never misses what the walk would do.

The sample credentials are random strings in the real formats (none is live). Each is written as
two adjacent literals ("sk_live_" "...") so secret scanners do not flag this file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import redact
from ingest.redact import REDACTED_PREFIX, Redactor

KEY = b"test-redaction-key"
REDACTOR = Redactor(KEY)

AWS_ACCESS_KEY = "AKIA" "UJZDE8GXD6NCF10E"
AWS_SECRET_KEY = "El2hpChYgCfrL1spNxnyVmihA" "+2O76UMFxFkM+R5"
GITHUB_PAT_CLASSIC = "ghp_" "sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8"
GITHUB_OAUTH = "gho_" "rESQedUStPKR0CsTy4Qwb8DwkNhFdnXsiVpz"
GITHUB_USER_TO_SERVER = "ghu_" "z63FfkCzJr4i0B3JrTAwR4y9ojfljoQoaF1L"
GITHUB_APP_INSTALLATION = "ghs_" "lqsajAIxNKu8iS2G8NPRVdD53X83RZJzzzzg"
GITHUB_REFRESH = "ghr_" "EOzdmenCkhvMdgaKjIg8xNbe3nNyjOq9wMxE"
GITHUB_FINE_GRAINED = ("github_pat_" "hh2FDEEtfjgVvVqE1SkHbn_88HxjSI6bWHtP3fS2qHx6kwXoIIXGvOoNZYW2m"
                       "Zp0zVZomHFwUbbYrEqmSM")
STRIPE_LIVE = ("sk_live_" "519wCZ7Uw9xfogoEmvnEN5N1aE6PwZPf1Qh6yYTWmE4lBYOvfZ8UzDzV8fUkkibjL5DZP"
               "jN0MEQ7wjJJibaZUPgHV7iB3m03nbq")
STRIPE_TEST = ("sk_test_" "51nsGpWLuqIA1id6Vw5DQL05HA064GiIjHGb3CXlMaXZjljENUhJduRHHJEYXg4Jdpmr"
               "cXgGCJbW56eCuNGMGmSrCGIZEG8pSH4")
STRIPE_RESTRICTED = ("rk_live_" "51487q7J58m1CiAhzCueQpBenQtYh5Xj8TPQxjq4i9DoV8gz4FkQ1okTBGzvAmw"
                     "ufUxbvJDCTbyvHNsG9eh6Yo4gfqrc5XlrWi0")
STRIPE_WEBHOOK = "whsec_" "B26R08qzjI6GKFSufrdZSlB5er8bOfZq"
SLACK_BOT = "xoxb-" "193141705864-9208312402344-HWnsCGRlrwZbqcabUGJmGEp7"
SLACK_USER = "xoxp-" "716786843353-265020146201-6849340722470-8baa7196b50ac2f86702824c1c099724"
SLACK_WEBHOOK = "https://hooks.slack.com/services/" "T02ABCDEF/B04GHIJKL/HWnsCGRlrwZbqcabUGJmGEp7"
OPENAI_PROJECT = ("sk-proj-" "XP-tKsf2rcDkdfrUnW5gcF_Ha6ili8GjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk"
                  "8cL6j5IT3BlbkFJXAAjlsHUqJoUD-_Ydua_5ZMs1SWOpQaPRYpzbLGViYXjU2JgJngKtFI3OyV2dZ"
                  "Akg05rK_gqv8")
OPENAI_LEGACY = "sk-" "AvstqVVPqzPptEJQzhkPT3BlbkFJkenG5ZFJoC6vWCBiJmpf"
ANTHROPIC = ("sk-ant-" "api03-wRlOEVHzc0X0AWIRh-JUqBlIFXZ53Ncqe28_ajY75FnCttn6kfaqDeMqG3omjMyXHCa"
             "bM6JOF8EFd0Nhcy-1kGD2VD-eRAA")
RAILWAY_UUID = "3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36"
RAILWAY_RW = "rw_" "TAxRzmaZsV2GenFmtX0moDoqW4sg8NFN"
OPAQUE_BEARER = "0VxNjAe_9i0mYtluYI0KN1gNT11c" "UzYZAa3u2olZ"
BASIC_CREDENTIALS = "ZGVwbG95OlRyMHViNGRvciYz"  # base64("deploy:Tr0ub4dor&3")
JWT = ("eyJ" "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzJOcVZ4IiwiaWF0IjoxNzM1Njg5NjAwL"
       "CJleHAiOjE3MzU2OTMyMDB9.U6uqbgsYlVvsSKuvinX_zMqf9OgXluCZz8xBfZuXTpt")
SENDGRID = "SG." "xC_1hsYgBds1ghxY5OokvQ.yx7eNWVQ4vnakJkS1pAWTN3lg8zV5yPU8d0FZfWe7ih"
PYPI = ("pypi-" "AgEIcHlwaS5vcmcGyiRUIQfHOJMaidDn87XG3-q-xbMtEPO6UkzYuF0ie9Pu2njHkAm1-5wDr16EpL"
        "LJIVGHz4FxFEtKyPiYGFDm7ena8D5VfLDpgyyjVw5HanSBeVRsfAGeAbP")
PEM_LINES = (
    "-----BEGIN " "RSA PRIVATE KEY-----",
    "P/i50OUxCuKP18GsCarWUh5jmXSM2aDHTqZrTpU/bGOoXnKAcC0FAJ78fXc8csOe",
    "x9F11i3PeWYbESBbbl0XzXGBgqgKCqIhFey7UMe4ghQNwIHlYKfzyCIG2xD/nbux",
    "0BwxIfvifUn0z+rLKq/JuO44ENVZnMFAKFLlnUbn0HQkQYD263o1l0OdgTxRXwky",
    "Lmcpou9HrVPlYCvKyEMdxIcMottc999zjoWUsOHlGkD+iaHbZLzMX0Ng/V6TJVxU",
    "pO335DcV4YEDK0LnPNe+Mw==",
    "-----END RSA PRIVATE KEY-----",
)
PEM_KEY = "\n".join(PEM_LINES)
PEM_KEY_ESCAPED = "\\n".join(PEM_LINES)  # as a JSON string shown inside a tool's output
PEM_PKCS8 = PEM_KEY.replace("RSA PRIVATE KEY", "PRIVATE KEY")


def marker(kind: str, secret: str, key: bytes = KEY) -> str:
    digest = hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()[:8]
    return f"[REDACTED:{kind}:{digest}]"


def case(text: str, *secrets: tuple[str, str], id: str) -> object:
    return pytest.param(text, secrets, id=id)


PGAUDIT_PREFIX = "2026-04-24 08:31:44.593 UTC [1234] pocket@pocket LOG:  AUDIT: SESSION,7,1,ROLE,"
CSVLOG_PREFIX = ('2026-04-24 08:31:44.593 UTC,"pocket","pocket",1234,"10.0.0.9:51234",6629c3a8.4d2,7,'
                 '"ALTER ROLE",2026-04-24 08:31:40 UTC,3/17,0,LOG,00000,"AUDIT: SESSION,7,1,')
# Statements that set a password, as pgAudit, MySQL's general log or a tool's output show them.
SQL_POSITIVE = [
    case("ALTER ROLE app PASSWORD 'secret';", ("sql-password", "secret"), id="sql-alter-role"),
    case("CREATE USER bob WITH PASSWORD 'hunter2';", ("sql-password", "hunter2"),
         id="sql-create-user"),
    case("ALTER USER x WITH ENCRYPTED PASSWORD 'md53175bce1d3201d16594cebf9d7eb3f9d';",
         ("sql-password", "md53175bce1d3201d16594cebf9d7eb3f9d"), id="sql-encrypted-md5"),
    case("CREATE ROLE r LOGIN PASSWORD 'p' VALID UNTIL '2027-01-01';", ("sql-password", "p"),
         id="sql-valid-until"),
    case("create role etl with login nosuperuser password 'Etl-2026!x' connection limit 5",
         ("sql-password", "Etl-2026!x"), id="sql-lowercase-options"),
    case("ALTER ROLE app PASSWORD 'it''s-a-secret'", ("sql-password", "it''s-a-secret"),
         id="sql-quote-inside"),
    case("ALTER ROLE app PASSWORD E'it\\'s-a-secret'", ("sql-password", "it\\'s-a-secret"),
         id="sql-escape-string"),
    case("CREATE USER 'deploy'@'%' IDENTIFIED BY 'Tr0ub4dor&3';", ("sql-password", "Tr0ub4dor&3"),
         id="mysql-identified-by"),
    case("ALTER USER 'app'@'localhost' IDENTIFIED WITH caching_sha2_password BY 'n3w-S3cret';",
         ("sql-password", "n3w-S3cret"), id="mysql-identified-with-plugin"),
    case('ALTER USER scott IDENTIFIED BY "tiger-Pw9";', ("sql-password", "tiger-Pw9"),
         id="sql-double-quoted"),
    case("SET PASSWORD FOR 'bob'@'localhost' = 'S3t-pw-42';", ("sql-password", "S3t-pw-42"),
         id="mysql-set-password-for"),
    case("SET PASSWORD = PASSWORD('0ld-style-pw');", ("sql-password", "0ld-style-pw"),
         id="mysql-set-password-function"),
    case("CREATE USER MAPPING FOR app SERVER films OPTIONS (user 'app', password 'Fdw-s3cret');",
         ("sql-password", "Fdw-s3cret"), id="sql-user-mapping-options"),
    case(PGAUDIT_PREFIX + "ALTER ROLE,,,ALTER ROLE app PASSWORD 'N7rV2xQp9LmZ';,<not logged>",
         ("sql-password", "N7rV2xQp9LmZ"), id="pgaudit-stderr"),
    case(CSVLOG_PREFIX + "ROLE,CREATE ROLE,,,CREATE ROLE etl LOGIN PASSWORD 'Csv-pw-1';,"
         '<not logged>",,,,,,,,,"psql"', ("sql-password", "Csv-pw-1"), id="pgaudit-csvlog"),
    # Dynamic SQL: the statement is a string, its quotes doubled (here also in a CSV field).
    case(CSVLOG_PREFIX + 'FUNCTION,DO,,,""DO $$ BEGIN EXECUTE \'ALTER ROLE app PASSWORD '
         "''Dyn-pw-77''\'; END $$;\"\",<not logged>\",,,,,,,,,\"psql\"",
         ("sql-password", "Dyn-pw-77"), id="pgaudit-dynamic-sql"),
    case("EXECUTE format('ALTER ROLE %I PASSWORD ''it''''s-dyn''', r);",
         ("sql-password", "it''''s-dyn"), id="sql-dynamic-quote-inside"),
    case('2026-04-24 08:31:44,root,"SET PASSWORD FOR ""bob""@""%"" = ""Csv-dq-pw9"";"',
         ("sql-password", "Csv-dq-pw9"), id="sql-csv-doubled-double-quotes"),
    case('{"query": "CREATE USER u IDENTIFIED BY \\"Js0n-pw\\""}', ("sql-password", "Js0n-pw"),
         id="sql-in-json-text"),
    case(f"ALTER ROLE ci PASSWORD '{GITHUB_OAUTH}'", ("github-token", GITHUB_OAUTH),
         id="sql-password-that-is-a-token"),
    # Multi-line statements: in raw JSON the line breaks are escaped ("PASSWORD\\n  'x'").
    case("CREATE ROLE etl\n  LOGIN\n  PASSWORD\n    'Multi-line-pw'\n  VALID UNTIL 'infinity';",
         ("sql-password", "Multi-line-pw"), id="sql-multi-line-password"),
    case("CREATE USER 'etl'@'%'\n\tIDENTIFIED\n\tBY 'Multi-line-pw2';",
         ("sql-password", "Multi-line-pw2"), id="mysql-multi-line-identified"),
    case("SET PASSWORD\n  = PASSWORD('Multi-line-pw3');", ("sql-password", "Multi-line-pw3"),
         id="mysql-multi-line-set-password"),
]

# (text, ((kind, secret), ...)): only the secrets may change, each into its own marker.
POSITIVE = [
    case(f"export AWS_ACCESS_KEY_ID={AWS_ACCESS_KEY}\naws s3 ls s3://pocket-backups",
         ("aws-access-key", AWS_ACCESS_KEY), id="aws-access-key-env"),
    case(f"[default]\naws_access_key_id = {AWS_ACCESS_KEY}\naws_secret_access_key = "
         f"{AWS_SECRET_KEY}\nregion = eu-west-1\n",
         ("aws-access-key", AWS_ACCESS_KEY), ("aws-secret-key", AWS_SECRET_KEY),
         id="aws-credentials-file"),
    case(f"AWS_SECRET_ACCESS_KEY={AWS_SECRET_KEY} terraform apply -auto-approve",
         ("aws-secret-key", AWS_SECRET_KEY), id="aws-secret-key-env"),
    case(f'client = boto3.client("s3", aws_secret_key="{AWS_SECRET_KEY}")',
         ("aws-secret-key", AWS_SECRET_KEY), id="aws-secret-key-quoted"),
    case(f"git remote set-url origin https://{GITHUB_PAT_CLASSIC}@github.com/acme/api.git",
         ("github-token", GITHUB_PAT_CLASSIC), id="github-ghp-in-remote"),
    case(f"export GITHUB_TOKEN={GITHUB_OAUTH}\ngh pr list",
         ("github-token", GITHUB_OAUTH), id="github-gho-env"),
    case(f'{{"token": "{GITHUB_USER_TO_SERVER}", "expires_at": "2026-02-11T10:00:00Z"}}',
         ("github-token", GITHUB_USER_TO_SERVER), id="github-ghu-json"),
    case(f"git clone https://x-access-token:{GITHUB_APP_INSTALLATION}@github.com/acme/api.git",
         ("github-token", GITHUB_APP_INSTALLATION), id="github-ghs-url-password"),
    case(f"refresh_token={GITHUB_REFRESH}&grant_type=refresh_token",
         ("github-token", GITHUB_REFRESH), id="github-ghr-form"),
    case(f"echo {GITHUB_FINE_GRAINED} | gh auth login --with-token",
         ("github-token", GITHUB_FINE_GRAINED), id="github-fine-grained"),
    case(f"curl https://api.stripe.com/v1/charges -u {STRIPE_LIVE}: -d amount=2000",
         ("stripe-key", STRIPE_LIVE), id="stripe-live-curl"),
    case(f'stripe.api_key = "{STRIPE_TEST}"', ("stripe-key", STRIPE_TEST), id="stripe-test"),
    case(f"STRIPE_RESTRICTED={STRIPE_RESTRICTED}", ("stripe-key", STRIPE_RESTRICTED),
         id="stripe-restricted"),
    case(f"STRIPE_WEBHOOK_SECRET={STRIPE_WEBHOOK} mix phx.server",
         ("stripe-key", STRIPE_WEBHOOK), id="stripe-webhook-secret"),
    case(f'curl -H "Authorization: Bearer {SLACK_BOT}" https://slack.com/api/chat.postMessage',
         ("slack-token", SLACK_BOT), id="slack-bot-header"),
    case(f"SLACK_USER={SLACK_USER}", ("slack-token", SLACK_USER), id="slack-user"),
    case(f"curl -X POST -d '{{\"text\":\"deploy done\"}}' {SLACK_WEBHOOK}",
         ("slack-webhook", SLACK_WEBHOOK), id="slack-webhook"),
    case(f"OPENAI_API_KEY={OPENAI_PROJECT} python eval.py",
         ("openai-key", OPENAI_PROJECT), id="openai-project-env"),
    case(f"client = OpenAI(api_key='{OPENAI_LEGACY}')", ("openai-key", OPENAI_LEGACY),
         id="openai-legacy"),
    case(f"the key {OPENAI_PROJECT} was revoked", ("openai-key", OPENAI_PROJECT),
         id="openai-bare"),
    case(f'curl https://api.anthropic.com/v1/messages -H "x-api-key: {ANTHROPIC}" '
         '-H "anthropic-version: 2023-06-01"', ("anthropic-key", ANTHROPIC),
         id="anthropic-header"),
    case(f"ANTHROPIC_API_KEY={ANTHROPIC}", ("anthropic-key", ANTHROPIC), id="anthropic-env"),
    case(f"RAILWAY_TOKEN={RAILWAY_UUID} railway up --service api",
         ("railway-token", RAILWAY_UUID), id="railway-token-env"),
    case(f'export RAILWAY_API_TOKEN="{RAILWAY_RW}"', ("railway-token", RAILWAY_RW),
         id="railway-api-token-rw"),
    case(f"RAILWAY_API_TOKEN={RAILWAY_UUID}", ("railway-token", RAILWAY_UUID),
         id="railway-api-token-uuid"),
    case(f'curl -X POST https://backboard.railway.com/graphql/v2 -H "Project-Access-Token: '
         f'{RAILWAY_UUID}" -H "Content-Type: application/json"',
         ("railway-token", RAILWAY_UUID), id="railway-project-header"),
    case(f"using {RAILWAY_RW} for the deploy", ("railway-token", RAILWAY_RW), id="railway-rw"),
    case(f'curl -s -H "Authorization: Bearer {OPAQUE_BEARER}" '
         "https://backboard.railway.com/graphql/v2", ("bearer-token", OPAQUE_BEARER),
         id="bearer-curl"),
    case(f'headers.set("Authorization", "Bearer {OPAQUE_BEARER}")',
         ("bearer-token", OPAQUE_BEARER), id="bearer-code"),
    case(f"GET /api/v1/projects HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic "
         f"{BASIC_CREDENTIALS}\r\n", ("basic-auth", BASIC_CREDENTIALS), id="basic-auth"),
    case(f"Authorization: Bearer {JWT}", ("jwt", JWT), id="jwt-bearer"),
    case(f"curl -b 'session={JWT}' https://app.example.com/me", ("jwt", JWT), id="jwt-cookie"),
    case(f"SENDGRID_API_KEY={SENDGRID}", ("sendgrid-key", SENDGRID), id="sendgrid"),
    case(f"twine upload -u __token__ -p {PYPI} dist/*", ("pypi-token", PYPI), id="pypi"),
    case("DATABASE_URL=postgresql://pocket:N7rV2xQp9LmZ@db.internal:5432/pocket",
         ("url-password", "N7rV2xQp9LmZ"), id="url-password-postgres"),
    case("REDIS_URL=redis://:s3cr3tRedisPw@cache.internal:6379/0",
         ("url-password", "s3cr3tRedisPw"), id="url-password-empty-user"),
    case("mysql://root:postgres@localhost/app", ("url-password", "postgres"),
         id="url-password-weak"),
    case(f"{PEM_KEY}\n", ("private-key", PEM_KEY), id="pem-multiline"),
    case(f"$ cat deploy_key\n{PEM_PKCS8}\n$ ssh-add deploy_key",
         ("private-key", PEM_PKCS8), id="pem-pkcs8-in-shell-output"),
    case(f'{{"type": "service_account", "private_key": "{PEM_KEY_ESCAPED}\\n", '
         '"client_email": "ci@acme.iam.gserviceaccount.com"}',
         ("private-key", PEM_KEY_ESCAPED), id="pem-escaped-newlines"),
    case("\n".join(PEM_LINES[:4]) + "\n[output truncated]",
         ("private-key", "\n".join(PEM_LINES[:4]) + "\n"), id="pem-truncated"),
    case("PGPASSWORD=Xk9#mQ2vL7 psql -h db.internal -U app", ("password", "Xk9#mQ2vL7"),
         id="password-pgpassword"),
    case('{"username": "admin", "password": "Tr0ub4dor&3"}', ("password", "Tr0ub4dor&3"),
         id="password-json-text"),
    case("DB_PASSWORD=hunter22\nDB_HOST=db.internal", ("password", "hunter22"),
         id="password-env-file"),
    case('config :app, App.Repo, username: "app", password: "postgres"',
         ("password", "postgres"), id="password-elixir-config"),
    case("JWT_SECRET=9f8e7d6c5b4a39281706f5e4d3c2b1a0 npm start",
         ("keyword", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"), id="secret-env"),
    case("https://oauth2.example.com/token?client_id=42&client_secret=GOCSPX-4fR9kLm2Qx&x=1",
         ("keyword", "GOCSPX-4fR9kLm2Qx"), id="client-secret-query"),
    case("curl 'https://api.example.com/v2/items?api_key=a81bc7e2f4d94e0f&limit=10'",
         ("keyword", "a81bc7e2f4d94e0f"), id="api-key-query"),
    case("token: 7c0a1f3e9b2d4c6a", ("keyword", "7c0a1f3e9b2d4c6a"), id="token-yaml"),
    case('const awsConfig = { accessKey: "Q2xWzP8kT4yR" };', ("keyword", "Q2xWzP8kT4yR"),
         id="access-key-camel-case"),
    case('{\\"api_key\\": \\"a81bc7e2f4d94e0f\\"}', ("keyword", "a81bc7e2f4d94e0f"),
         id="api-key-escaped-json"),
    *SQL_POSITIVE,
]

SECRET_FIELDS = ["password", "secret", "token", "api_key", "apiKey", "access_key", "private_key",
                 "authorization", "Authorization", "client_secret", "X-Api-Key", "DB_PASSWORD",
                 "accessToken", "passphrase"]


@pytest.mark.parametrize(("text", "secrets"), POSITIVE)
def test_redacts_only_the_secret(text: str, secrets: tuple[tuple[str, str], ...]) -> None:
    expected = text
    for kind, secret in secrets:
        assert secret in text
        expected = expected.replace(secret, marker(kind, secret))
    assert REDACTOR.redact_text(text) == expected


@pytest.mark.parametrize(("text", "secrets"), POSITIVE)
def test_redaction_is_idempotent(text: str, secrets: tuple[tuple[str, str], ...]) -> None:
    once = REDACTOR.redact_text(text)
    assert once != text
    assert REDACTOR.redact_text(once) is once
    assert REDACTOR.redact_value({"cmd": once}) == {"cmd": once}


@pytest.mark.parametrize(("text", "secrets"), POSITIVE)
def test_prefilter_flags_every_positive_sample(text: str,
                                              secrets: tuple[tuple[str, str], ...]) -> None:
    record = {"type": "tool_use", "input": {"command": text}}
    for raw in (json.dumps(record), json.dumps(record, ensure_ascii=False),
                json.dumps(record).replace("/", "\\/"), json.dumps({text: 1})):
        assert json.loads(raw) in (record, {text: 1})
        assert REDACTOR.might_contain_secret(raw)
        assert REDACTOR.might_contain_secret(raw.encode())


def test_marker_is_the_keyed_hmac_of_the_secret() -> None:
    redacted = REDACTOR.redact_text(f"export GITHUB_TOKEN={GITHUB_OAUTH}")
    digest = hmac.new(KEY, GITHUB_OAUTH.encode(), hashlib.sha256).hexdigest()[:8]
    assert redacted == f"export GITHUB_TOKEN={REDACTED_PREFIX}github-token:{digest}]"


def test_same_secret_in_two_places_correlates_and_key_changes_the_hash() -> None:
    command = f"export RAILWAY_API_TOKEN={RAILWAY_RW}"
    header = f'curl -H "Authorization: Bearer {RAILWAY_RW}" https://backboard.railway.com/x'
    first, second = REDACTOR.redact_text(command), REDACTOR.redact_text(header)
    shared = marker("railway-token", RAILWAY_RW)
    assert shared in first and shared in second
    other_key = Redactor(b"another-key").redact_text(command)
    assert other_key != first and RAILWAY_RW not in other_key
    other_secret = REDACTOR.redact_text(command.replace(RAILWAY_RW, RAILWAY_RW[:-1] + "X"))
    assert other_secret != first and other_secret.startswith("export RAILWAY_API_TOKEN=[REDACTED:")


def test_dict_key_and_text_give_the_same_hash_for_one_secret() -> None:
    in_field = REDACTOR.redact_value({"api_key": STRIPE_LIVE})
    in_text = REDACTOR.redact_text(f"curl -u {STRIPE_LIVE}: https://api.stripe.com")
    assert in_field == {"api_key": marker("keyword", STRIPE_LIVE)}
    assert marker("stripe-key", STRIPE_LIVE)[-9:] == marker("keyword", STRIPE_LIVE)[-9:]
    assert marker("stripe-key", STRIPE_LIVE) in in_text


def test_connection_url_keeps_user_and_host() -> None:
    url = "postgresql://pocket:N7rV2xQp9LmZ@db.internal:5432/pocket?sslmode=require"
    assert REDACTOR.redact_text(url) == (
        f"postgresql://pocket:{marker('url-password', 'N7rV2xQp9LmZ')}"
        "@db.internal:5432/pocket?sslmode=require")


NOT_SECRETS = [
    RAILWAY_UUID,
    "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36",
    "svc_9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f deployed",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "/home/marco/.aws/credentials and ~/.ssh/id_rsa",
    "https://backboard.railway.com/graphql/v2",
    "postgresql://pocket:********@db.internal:5432/pocket",
    "echo $RAILWAY_API_TOKEN ${DATABASE_URL}",
    "Authorization: Bearer $RAILWAY_API_TOKEN",
    'curl -H "Authorization: Bearer ${RAILWAY_API_TOKEN}" https://backboard.railway.com',
    'export RAILWAY_TOKEN="$RAILWAY_TOKEN"',
    "psql postgres://app:$DB_PASSWORD@db/app",
    "token = ReviewTokenStore.mint(project)",
    "token = Base.url_encode64(:crypto.strong_rand_bytes(32))",
    "api_key: anthropic_api_key()",
    "def login(username: str, password: str) -> Token:",
    "client.login(password=password, token=self.token)",
    'secret_key_base: System.get_env("SECRET_KEY_BASE")',
    "params: { _csrf_token: csrfToken },",
    '"max_tokens": 1024, "input_tokens": 3',
    '"signature":"[REDACTED_SIGNATURE]"',
    "password: nil",
    "Authorization: Bearer <your-token>",
    "PWD=/home/marco/projects/spotter",
    "pip install scikit-learn && ./disk-usage-report-for-all-volumes",
    "git@github.com:acme/api.git and ssh://git@github.com/acme/api",
    "http://localhost:4000/sessions/42",
    "-----BEGIN PUBLIC KEY-----",
    'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):',
    "Bearer authentication is configured in settings",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC",
    "ALTER ROLE app PASSWORD NULL;",
    "ALTER ROLE app PASSWORD '' VALID UNTIL 'infinity';",
    "ALTER ROLE app PASSWORD '********';",
    "ALTER ROLE app PASSWORD $1",
    'cur.execute("ALTER ROLE %s PASSWORD %s", (role, password))',
    "CREATE USER 'u'@'localhost' IDENTIFIED WITH auth_socket;",
    "ALTER USER 'u'@'%' IDENTIFIED BY RANDOM PASSWORD;",
    "ALTER USER 'u'@'%' IDENTIFIED WITH mysql_native_password 'x';",
    "FATAL:  password authentication failed for user \"app\"",
    "thread_key: nil, group_key = tool_use_id",
]


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_leaves_non_secrets_alone(text: str) -> None:
    assert REDACTOR.redact_text(text) is text


@pytest.mark.parametrize("field", SECRET_FIELDS)
def test_dict_fields_named_like_secrets_are_replaced_whole(field: str) -> None:
    value = "Bearer 8f14e45fceea167a5a36dedd4bea2543"
    record = {"headers": {field: value, "Accept": "application/json"}}
    assert REDACTOR.redact_value(record) == {
        "headers": {field: marker("keyword", value), "Accept": "application/json"}}


@pytest.mark.parametrize("record", [
    {"password": ""}, {"password": None}, {"token": 12345}, {"password": "$DB_PASSWORD"},
    {"authorization": "Bearer ${TOKEN}"}, {"password": "$(cat /run/secrets/db)"},
    {"password": "********"},
    {"token": "[REDACTED:keyword:0123abcd]"}, {"signature": "[REDACTED_SIGNATURE]"},
    {"max_tokens": "1024"}, {"token_type": "Bearer"}, {"tokens": ["a", "b"]},
])
def test_dict_fields_that_hold_no_secret_stay(record: dict[str, object]) -> None:
    assert REDACTOR.redact_value(record) is record


# --- named fields: {"key"|"name": <name>, "value": <value>} --------------------------------------

BEARER = "Bearer 8f14e45fceea167a5a36dedd4bea2543"


def otlp_attribute(key: str, value: object) -> dict[str, object]:
    return {"key": key, "value": value}


@pytest.mark.parametrize(("record", "redacted"), [
    (otlp_attribute("db.password", {"stringValue": "hunter2hunter2x"}),
     otlp_attribute("db.password", {"stringValue": marker("keyword", "hunter2hunter2x")})),
    (otlp_attribute("http.request.header.authorization",
                    {"arrayValue": {"values": [{"stringValue": BEARER}]}}),
     otlp_attribute("http.request.header.authorization",
                    {"arrayValue": {"values": [{"stringValue": marker("keyword", BEARER)}]}})),
    (otlp_attribute("http.request.header.x-api-key", {"bytesValue": "YTgxYmM3ZTJmNGQ5NGUwZg=="}),
     otlp_attribute("http.request.header.x-api-key",
                    {"bytesValue": marker("keyword", "YTgxYmM3ZTJmNGQ5NGUwZg==")})),
    ({"name": "Authorization", "value": BEARER},
     {"name": "Authorization", "value": marker("keyword", BEARER)}),
    ({"name": "DB_PASSWORD", "value": "Xk9#mQ2vL7"},
     {"name": "DB_PASSWORD", "value": marker("keyword", "Xk9#mQ2vL7")}),
    ({"Key": "db_password", "Value": "Xk9#mQ2vL7"},
     {"Key": "db_password", "Value": marker("keyword", "Xk9#mQ2vL7")}),
    ({"name": "X-Api-Key", "value": ["a81bc7e2f4d94e0f", "$FALLBACK_KEY"]},
     {"name": "X-Api-Key", "value": [marker("keyword", "a81bc7e2f4d94e0f"), "$FALLBACK_KEY"]}),
], ids=["otlp-string", "otlp-array-header", "otlp-bytes", "har-header", "k8s-env", "aws-tag",
        "list-value"])
def test_named_fields_named_like_secrets_are_replaced_whole(record: dict[str, object],
                                                             redacted: dict[str, object]) -> None:
    assert REDACTOR.redact_value(record) == redacted
    assert REDACTOR.redact_value(redacted) is redacted
    for raw in (json.dumps(record), json.dumps(record, indent=1),
                json.dumps(record, separators=(",", ":")), json.dumps(dict(reversed(record.items())))):
        assert REDACTOR.might_contain_secret(raw) and REDACTOR.might_contain_secret(raw.encode())


def test_kubernetes_env_and_har_headers_keep_everything_else() -> None:
    container = {"name": "api", "image": "ghcr.io/acme/api:1.4", "env": [
        {"name": "DB_HOST", "value": "db.internal"},
        {"name": "DB_PASSWORD", "value": "Xk9#mQ2vL7"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
        {"name": "SESSION_SECRET", "value": "$(SESSION_SECRET_FROM_FILE)"},  # a reference
        {"name": "SIGNING_SECRET", "value": "9f8e7d6c5b4a3928"}]}
    headers = [{"name": "Accept", "value": "application/json"},
               {"name": "Authorization", "value": BEARER}]
    redacted = REDACTOR.redact_value({"spec": {"containers": [container]}, "headers": headers})
    env = container["env"]
    assert isinstance(env, list)
    assert redacted == {"spec": {"containers": [{**container, "env": [
        env[0], {"name": "DB_PASSWORD", "value": marker("keyword", "Xk9#mQ2vL7")}, env[2], env[3],
        {"name": "SIGNING_SECRET", "value": marker("keyword", "9f8e7d6c5b4a3928")}]}]},
        "headers": [headers[0], {"name": "Authorization", "value": marker("keyword", BEARER)}]}


def test_a_kvlist_value_is_judged_by_the_names_inside_it() -> None:
    inner = [otlp_attribute("user", {"stringValue": "app"}),
             otlp_attribute("password", {"stringValue": "Xk9#mQ2vL7"})]
    record = otlp_attribute("db.connection", {"kvlistValue": {"values": inner}})
    assert REDACTOR.redact_value(record) == otlp_attribute("db.connection", {"kvlistValue": {
        "values": [inner[0], otlp_attribute("password", {"stringValue": marker(
            "keyword", "Xk9#mQ2vL7")})]}})


@pytest.mark.parametrize("record", [
    otlp_attribute("gen_ai.usage.input_tokens", {"intValue": "412"}),
    otlp_attribute("gen_ai.usage.output_tokens", {"intValue": "61"}),
    otlp_attribute("db.password", {"intValue": "1234"}),
    otlp_attribute("db.password", {"stringValue": ""}),
    otlp_attribute("db.password", {"stringValue": "********"}),
    otlp_attribute("http.request.header.authorization",
                   {"arrayValue": {"values": [{"stringValue": "Bearer ${TOKEN}"}]}}),
    otlp_attribute("service.name", {"stringValue": "hunter2hunter2x"}),
    {"name": "DB_PASSWORD", "value": "$DB_PASSWORD"},
    {"name": "DB_PASSWORD", "value": "[REDACTED:keyword:0123abcd]"},
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "max_tokens", "value": "1024"},
    {"name": "password"},
    {"key": 42, "value": "hunter2hunter2x"},
    {"key": "password", "val": "hunter2hunter2x"},
])
def test_named_fields_that_hold_no_secret_stay(record: dict[str, object]) -> None:
    assert REDACTOR.redact_value(record) is record


def test_a_name_ending_in_a_newline_is_not_named_like_a_secret() -> None:
    # "password\n" does not end in "password"; its raw JSON ('password\n":') holds no anchor, so
    # the walk must leave it too (it once replaced the value while the prefilter said no).
    record = {"password\n": "hunter2hunter2x", "x": {"key": "db.password\n", "value": "abc12345"}}
    assert REDACTOR.redact_value(record) is record


# --- the prefilter on records without secrets --------------------------------------------------


def test_genai_spans_and_token_counts_do_not_trigger_the_prefilter() -> None:
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "1a2b3c4d5e6f7081",
            "name": "chat gpt-4.1", "attributes": [
                otlp_attribute("gen_ai.operation.name", {"stringValue": "chat"}),
                otlp_attribute("gen_ai.usage.input_tokens", {"intValue": "412"}),
                otlp_attribute("gen_ai.usage.output_tokens", {"intValue": "61"}),
                otlp_attribute("gen_ai.request.max_tokens", {"intValue": "1024"})]}
    usage = {"type": "assistant", "message": {"usage": {
        "input_tokens": 3, "cache_creation_input_tokens": 1510, "cache_read_input_tokens": 13516,
        "output_tokens": 8, "service_tier": "standard"}}, "thread_key": None, "key": "value"}
    for record in (span, usage):
        for raw in (json.dumps(record), json.dumps(record, indent=1),
                    json.dumps(record, separators=(",", ":"))):
            assert not REDACTOR.might_contain_secret(raw)
        assert REDACTOR.redact_value(record) is record


@pytest.mark.parametrize("name", ["agent_current.json", "client_events.json"])
def test_otlp_fixtures_do_not_trigger_the_prefilter(name: str) -> None:
    path = Path(__file__).parent / "fixtures" / "otlp" / name
    assert not REDACTOR.might_contain_secret(path.read_bytes())
    document = json.loads(path.read_bytes())
    assert REDACTOR.redact_value(document) is document


def test_nested_structures_are_copied_only_where_changed() -> None:
    untouched = {"cwd": "/home/marco/projects/spotter", "usage": {"input_tokens": 3}}
    tool_input = {"command": f"curl -H 'Authorization: Bearer {OPAQUE_BEARER}' https://x.dev"}
    text_block = {"type": "text", "text": "ok"}
    record = {"meta": untouched, "content": [text_block, {"type": "tool_use", "input": tool_input}],
              "env": {"nested": [{"credentials": {"secret": "s3kr1t-v4lue"}}]}}
    redacted = REDACTOR.redact_value(record)
    assert isinstance(redacted, dict) and redacted is not record
    assert redacted["meta"] is untouched
    assert redacted["content"][0] is text_block
    assert redacted["content"][1]["input"]["command"] == (
        f"curl -H 'Authorization: Bearer {marker('bearer-token', OPAQUE_BEARER)}' https://x.dev")
    assert redacted["env"] == {"nested": [{"credentials": {
        "secret": marker("keyword", "s3kr1t-v4lue")}}]}
    assert tool_input["command"].count(OPAQUE_BEARER) == 1  # the input was not mutated
    assert REDACTOR.redact_value(redacted) == redacted


def test_secret_in_a_dict_key_is_redacted() -> None:
    record = {f"{GITHUB_OAUTH}": "owner", "n": 1}
    assert REDACTOR.redact_value(record) == {marker("github-token", GITHUB_OAUTH): "owner", "n": 1}


def test_unchanged_values_are_returned_as_is() -> None:
    record = {"a": ["x", {"b": 1.5, "c": None, "d": True}], "e": "plain text"}
    assert REDACTOR.redact_value(record) is record
    assert REDACTOR.redact_value("plain") == "plain"
    assert REDACTOR.redact_value(42) == 42


def test_rejects_an_empty_key() -> None:
    with pytest.raises(ValueError, match="empty"):
        Redactor(b"")


def test_unicode_escapes_in_raw_json_are_treated_as_possible_secrets() -> None:
    hidden = json.dumps({"cmd": f"export PASSWORD=hunter22 # {chr(0x2192)}"})
    assert "\\u2192" in hidden and REDACTOR.might_contain_secret(hidden)
    escaped_prefix = json.dumps({"cmd": "x"}).replace('"x"', '"\\u0041KIA' + AWS_ACCESS_KEY[4:] + '"')
    assert REDACTOR.redact_value(json.loads(escaped_prefix)) != json.loads(escaped_prefix)
    assert REDACTOR.might_contain_secret(escaped_prefix)


# --- properties ------------------------------------------------------------------------------------

FRAGMENTS = [
    "password", "PASSWORD", "Secret", "token", "api_key", "apiKey", "x-api-key", "authorization",
    "Authorization: Bearer ", "Bearer ", "=", ":", " = ", '"', "'", "\\", "\\\"", " ", "\n", "\t",
    "://", "@", "postgresql://", "user:", "AKIA", AWS_ACCESS_KEY, AWS_SECRET_KEY, "aws_", "ghp_",
    GITHUB_OAUTH, "sk-", "sk-ant-", OPENAI_LEGACY, "sk_live_", STRIPE_TEST, "xoxb-", SLACK_BOT,
    "eyJ", JWT, ".", "-----BEGIN RSA PRIVATE KEY-----", PEM_LINES[1], "-----END RSA PRIVATE KEY-----",
    "RAILWAY_TOKEN", "RAILWAY_", RAILWAY_UUID, "rw_", RAILWAY_RW, "$", "${", "}", "[REDACTED:",
    "[REDACTED:keyword:0123abcd]", "]", "\u212a", "\u017f", "\u0130", "\u2192", "é", "\x00",
    "hunter22", "s3cr3tValue9", "Project-Access-Token", "pypi-", "SG.", "whsec_", "(", "/",
    "ALTER ROLE app ", " PASSWORD ", "password '", "ENCRYPTED ", "IDENTIFIED", "identified by ",
    " BY ", " AS ", " WITH ", "SET PASSWORD", " FOR ", "''", '""', "E'", "'secret'", "PASSWORD(",
    "PASSWORD 'hunter2'", "IDENTIFIED BY 'pw'", "SET PASSWORD = 'pw'", "password ''x''",
    "NULL", ")", ";", "\r", "\f", "\v", "$(", "db.password", "DB_PASSWORD", "thread_key",
    "gen_ai.usage.input_tokens", "input_tokens", "key", "name", "value",
]
TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=8).map(
    "".join)
# Names of named fields ({"key"|"name": <name>, "value": ...}), and OTLP AnyValue shapes.
NAMES = st.sampled_from(["db.password", "http.request.header.authorization", "X-Api-Key",
                         "gen_ai.usage.input_tokens", "service.name", "password\n", *SECRET_FIELDS]
                        ) | TEXT


def named_fields(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    any_value = (children | TEXT.map(lambda s: {"stringValue": s})
                 | TEXT.map(lambda s: {"bytesValue": s})
                 | st.integers().map(lambda i: {"intValue": str(i)})
                 | st.lists(children, max_size=3).map(lambda v: {"arrayValue": {"values": v}}))
    return st.builds(lambda members, name, value, others: {**others, members[0]: name,
                                                           members[1]: value},
                     st.sampled_from(redact._NAMED_FIELDS), NAMES, any_value,
                     st.dictionaries(TEXT, children, max_size=2))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(TEXT | st.sampled_from(SECRET_FIELDS), children, max_size=4)
    | named_fields(children),
    max_leaves=12)
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(JSON_VALUES)
def test_prefilter_never_misses_what_the_walk_would_change(value: object) -> None:
    for raw in (json.dumps(value), json.dumps(value, ensure_ascii=False),
                json.dumps(value, ensure_ascii=False, separators=(",", ":")),
                json.dumps(value, indent=1)):
        if not REDACTOR.might_contain_secret(raw.encode("utf-8", "surrogatepass")):
            assert REDACTOR.redact_value(value) is value
        if not REDACTOR.might_contain_secret(raw):
            assert REDACTOR.redact_value(value) is value


@PROPERTY
@given(TEXT)
def test_prefilter_never_misses_what_redacting_a_text_record_would_change(text: str) -> None:
    # Text logs (pgaudit) are records whose raw form is the text itself.
    for raw in (text, text.encode("utf-8", "surrogatepass")):
        if not REDACTOR.might_contain_secret(raw):
            assert REDACTOR.redact_text(text) is text


@PROPERTY
@given(TEXT)
def test_anchor_dispatch_equals_running_every_rule(text: str) -> None:
    every_rule = REDACTOR._redact_with(text, range(len(redact._RULES)))
    assert REDACTOR.redact_text(text) == every_rule


@PROPERTY
@given(JSON_VALUES)
def test_redacting_twice_changes_nothing_more(value: object) -> None:
    once = REDACTOR.redact_value(value)
    assert REDACTOR.redact_value(once) is once


# --- real transcripts ------------------------------------------------------------------------------


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [*_strings(key), *_strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("name", ["short.jsonl", "tool_heavy.jsonl"])
def test_real_transcripts_are_barely_touched(shared_data: Path, name: str) -> None:
    lines = (shared_data / "claude-code" / name).read_bytes().splitlines()
    changed: list[tuple[str, str]] = []
    flagged = 0
    for line in lines:
        record = json.loads(line)
        redacted = REDACTOR.redact_value(record)
        flagged += REDACTOR.might_contain_secret(line)
        if redacted is not record:
            assert REDACTOR.might_contain_secret(line)
            changed += [(a, b) for a, b in zip(_strings(record), _strings(redacted),
                                               strict=True) if a != b]
    for before, after in changed:
        print(f"{name}: {before[:200]!r} -> {after[:200]!r}")
    assert len(changed) <= 2
    assert flagged <= len(lines) // 10 + 1  # the prefilter lets almost every line skip the walk
