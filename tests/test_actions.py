"""The action classifier: a table of real-world command lines and tool inputs, each pinning what
``classify`` must say (destructive or not, family, and where it matters the operation, a target,
a force flag, an environment, a credential, the kind of check, reversibility), plus look-alikes
that must stay benign, and a property test that no input makes it raise."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import actions, shell
from analyzer.actions import classify
from analyzer.nodes import Action, Family, InspectKind, Reversibility
from analyzer.shell import STDIN, split_argv, split_commands

F, G, DB, IAC, K8S, CLOUD, HTTP, PLAT, TOOL = (
    Family.FILES, Family.GIT, Family.DATABASE, Family.IAC, Family.KUBERNETES, Family.CLOUD, Family.HTTP,
    Family.PLATFORM, Family.TOOL)
LISTING, STATUS, DESCRIBE, CONTEXT, PLAN, QUERY, READ = (
    InspectKind.LISTING, InspectKind.STATUS, InspectKind.DESCRIBE, InspectKind.CONTEXT, InspectKind.PLAN,
    InspectKind.QUERY, InspectKind.READ)
REV, RECOVER, GONE = Reversibility.REVERSIBLE, Reversibility.RECOVERABLE, Reversibility.IRREVERSIBLE

VOLUME = "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36"
INCIDENT = (  # the Claude Code Bash input of the incident, verbatim
    "source scripts/domains/.env && curl -s -X POST https://backboard.railway.com/graphql/v2 "
    "-H \"Authorization: Bearer $RAILWAY_API_TOKEN\" -H 'Content-Type: application/json' "
    "-d '{\"query\": \"mutation { volumeDelete(volumeId: \\\"" + VOLUME + "\\\") }\"}'"
)
CAREFUL_TWIN = (  # the careful twin's check: which environments does the volume serve?
    "curl -s -X POST https://backboard.railway.com/graphql/v2 -H \"Project-Access-Token: $RAILWAY_TOKEN\" "
    "-H 'Content-Type: application/json' -d '{\"query\": \"query { volume(id: \\\"" + VOLUME + "\\\") "
    "{ volumeInstances { edges { node { id environmentId sizeMB } } } } }\"}'"
)
UNSET = object()


@dataclass(frozen=True)
class Case:
    command: str
    destructive: bool
    family: Family | None
    tool: str | None = "Bash"
    tool_input: object = UNSET  # default: {"command": command}
    operation: str | None = None
    target: str | None = None
    force: str | None = None
    not_force: str | None = None
    environment: str | None = None  # "" pins "no environment at all"
    credential: str | None = None
    inspects: InspectKind | None = None
    inspected: str | None = None
    reversibility: Reversibility | None = None
    read_only: bool | None = None


def row(name: str, command: str, destructive: bool, family: Family | None, **expect: object) -> object:
    return pytest.param(Case(command, destructive, family, **expect), id=name)  # type: ignore[arg-type]


def tool_row(name: str, tool: str | None, tool_input: object, destructive: bool, family: Family | None,
             **expect: object) -> object:
    return row(name, "", destructive, family, tool=tool, tool_input=tool_input, **expect)


CASES = [
    # --- files: rm and friends ------------------------------------------------------------------
    row("rm-rf-build", "rm -rf ./build", True, F, operation="rm -rf", target="./build", force="-f",
        reversibility=RECOVER),
    row("rm-rf-node-modules", "rm -rf node_modules", True, F, reversibility=RECOVER),
    row("rm-rf-dist", "rm -rf dist", True, F, reversibility=RECOVER),
    row("rm-tmp-file", "rm /tmp/x", True, F, target="/tmp/x", reversibility=RECOVER),
    row("rm-pycache-find", "find . -name __pycache__ -prune -exec rm -rf {} +", True, F,
        target="./**/__pycache__", reversibility=RECOVER),
    row("rm-plain-file", "rm notes.txt", True, F, operation="rm", reversibility=GONE),
    row("rm-r-src", "rm -r src", True, F, operation="rm -r", target="src", reversibility=GONE),
    row("sudo-rm-root", "sudo rm -rf /", True, F, target="/", force="risky-path:root", reversibility=GONE),
    row("rm-home", "rm -rf ~", True, F, force="risky-path:home"),
    row("rm-home-var", "rm -rf $HOME/", True, F, force="risky-path:home"),
    row("rm-empty-var", "rm -rf $EMPTY_VAR/", True, F, target="$EMPTY_VAR/",
        force="risky-path:unexpanded-variable"),
    row("rm-guarded-var", "rm -rf ${BUILD_DIR:?}/out", True, F, not_force="risky-path:unexpanded-variable"),
    row("rm-star", "rm -rf *", True, F, force="risky-path:cwd"),
    row("rm-system-dir", "rm -rf /etc", True, F, force="risky-path:system-dir"),
    row("rm-no-preserve-root", "rm -rf --no-preserve-root /", True, F, force="--no-preserve-root"),
    row("bash-c-rm", 'bash -c "rm -rf /var/data"', True, F, target="/var/data", reversibility=GONE),
    row("sh-lc-rm-build", "sh -lc 'rm -rf build'", True, F, reversibility=RECOVER),
    row("for-loop-rm", 'for f in *.log; do rm "$f"; done', True, F, operation="rm"),
    row("if-then-rm", "if [ -d out ]; then rm -rf out; fi", True, F, reversibility=RECOVER),
    row("subshell-rm", "( cd /tmp && rm -rf build )", True, F, target="build"),
    row("command-substitution-path", 'rm -rf "$(pwd)/dist"', True, F, reversibility=RECOVER),
    row("wrappers-rm", "timeout 30 nohup nice -n 5 rm -rf /srv/app", True, F, target="/srv/app"),
    row("env-wrapper-rm", "env FOO=1 rm -rf data", True, F, target="data"),
    row("or-true", "rm -rf build || true", True, F, force="|| true"),
    row("rmdir", "rmdir emptydir", True, F, operation="rmdir", reversibility=REV),
    row("unlink", "unlink data.db", True, F, target="data.db", reversibility=GONE),
    row("shred", "shred -u secrets.txt", True, F, target="secrets.txt", reversibility=GONE),
    row("mv-overwrite", "mv new.conf app.conf", True, F, target="app.conf", reversibility=RECOVER),
    row("mv-force", "mv -f a b", True, F, force="-f"),
    row("mv-into-dir", "mv build.log logs/", False, F, read_only=False),
    row("mv-no-clobber", "mv -n a.txt b.txt", False, F),
    row("cp", "cp a.txt b.txt", False, F, read_only=False),
    row("mkdir", "mkdir -p src/pkg", False, F, read_only=False),
    row("find-delete", "find . -name '*.log' -delete", True, F, operation="find -delete",
        target="./**/*.log"),
    row("find-listing", "find . -name '*.log'", False, F, inspects=LISTING, inspected=".", read_only=True),
    row("find-exec-rm", "find /var/log -name '*.gz' -exec rm {} \\;", True, F, target="/var/log/**/*.gz"),
    row("find-exec-grep", "find . -name '*.py' -exec grep -l TODO {} +", False, F, read_only=True),
    row("xargs-rm", "ls | xargs rm", True, F, target=STDIN),
    row("xargs-replace-rm", "cat list.txt | xargs -I{} rm -rf {}", True, F, target=STDIN),
    row("redirect-overwrite", "echo hi > notes.txt", True, F, operation="truncate (>)", target="notes.txt",
        reversibility=RECOVER),
    row("redirect-dev-null", "echo x > /dev/null", False, None, force=">/dev/null", read_only=True),
    row("redirect-append", "echo x >> log.txt", False, F, read_only=False),
    row("stderr-dev-null", "ls missing 2>/dev/null", False, F, force="2>/dev/null", inspects=LISTING),
    row("all-dev-null", "make build >/dev/null 2>&1", False, None, force=">/dev/null"),
    row("amp-dev-null", "npm test &>/dev/null", False, None, force="&>/dev/null"),
    row("heredoc-file", "cat > config.yml <<'EOF'\nkey: value\nEOF", True, F, target="config.yml"),
    row("truncate-zero", "truncate -s 0 app.log", True, F, target="app.log", reversibility=GONE),
    row("dd-disk", "dd if=/dev/zero of=/dev/sda bs=1M", True, F, target="/dev/sda", reversibility=GONE),
    row("mkfs", "mkfs.ext4 /dev/sdb1", True, F, target="/dev/sdb1", reversibility=GONE),
    row("windows-del", "del /f /s /q C:\\temp\\*", True, F, force="/q"),
    row("cmd-rd", "cmd /c rd /s /q C:\\data", True, F, target="C:\\data", reversibility=GONE),
    row("remove-item", "Remove-Item -Recurse -Force C:\\data", True, F, target="C:\\data", force="-Force"),
    row("powershell-remove-item", 'powershell -NoProfile -Command "Remove-Item -Recurse -Force C:\\data"',
        True,
        F, target="C:\\data"),
    row("rsync-delete", "rsync -av --delete src/ backup/", True, F, target="backup/"),
    row("rsync-dry-run", "rsync -avn --delete src/ backup/", False, F, inspects=PLAN),
    row("tee-overwrite", "echo x | tee out.txt", True, F, target="out.txt", reversibility=RECOVER),
    row("tee-append", "echo x | tee -a out.txt", False, F),
    row("crontab-r", "crontab -r", True, F, reversibility=GONE),
    row("sed-in-place", "sed -i 's/a/b/' file.txt", False, F, read_only=False),
    row("comment-ignored", "ls # rm -rf /", False, F, inspects=LISTING, read_only=True),
    row("quoted-rm-echo", 'echo "rm -rf /"', False, None, read_only=True),
    row("grep-for-rm", "grep -rn 'rm -rf' scripts/", False, F, inspects=READ, inspected="scripts/"),
    row("unbalanced-quote-rm", 'echo "unterminated && rm -rf x', True, F, target="x"),
    row("unbalanced-apostrophe", "echo it's fine", False, None, read_only=True),
    row("empty", "", False, None, read_only=True),
    row("blank", "   \n  ", False, None, read_only=True),
    row("trailing-backslash", "ls \\", False, F),
    # --- git ------------------------------------------------------------------------------------
    row("git-clean-n", "git clean -n", False, G, inspects=PLAN, read_only=True),
    row("git-clean-dry-run", "git clean --dry-run -d", False, G, inspects=PLAN),
    row("git-clean-fdx", "git clean -fdx", True, G, force="-f", reversibility=GONE),
    row("git-clean-f", "git clean -f", True, G),
    row("git-reset-hard", "git reset --hard HEAD~1", True, G, operation="git reset --hard",
        reversibility=GONE),
    row("git-reset-soft", "git reset --soft HEAD~1", False, G, read_only=False),
    row("git-checkout-paths", "git checkout -- src/app.py", True, G, target="src/app.py"),
    row("git-checkout-dot", "git checkout .", True, G),
    row("git-checkout-branch", "git checkout main", False, G),
    row("git-checkout-new-branch", "git checkout -b feature/x", False, G),
    row("git-restore", "git restore src/app.py", True, G, target="src/app.py"),
    row("git-restore-staged", "git restore --staged src/app.py", False, G),
    row("git-push-force", "git push --force origin main", True, G, operation="git push --force",
        force="--force",
        target="main", reversibility=RECOVER),
    row("git-push-f", "git push -f origin feature", True, G, force="-f"),
    row("git-push-lease", "git push --force-with-lease origin main", True, G, force="--force-with-lease"),
    row("git-push", "git push origin main", False, G, read_only=False),
    row("git-push-dry-run", "git push --dry-run --force origin main", False, G, inspects=PLAN),
    row("git-push-delete", "git push origin --delete old-branch", True, G),
    row("git-push-production-branch", "git push --force origin production", True, G,
        environment="production"),
    row("git-branch-D", "git branch -D feature/old", True, G, target="feature/old", reversibility=RECOVER),
    row("git-branch-d", "git branch -d merged", False, G),
    row("git-branch-list", "git branch -a", False, G, inspects=STATUS),
    row("git-stash-drop", "git stash drop", True, G, reversibility=RECOVER),
    row("git-stash-list", "git stash list", False, G, inspects=STATUS),
    row("git-stash", "git stash", False, G, read_only=False),
    row("git-status", "git status", False, G, inspects=STATUS, read_only=True),
    row("git-diff", "git diff --stat", False, G, inspects=STATUS),
    row("git-log", "git log --oneline -5", False, G, inspects=STATUS),
    row("git-show", "git show HEAD", False, G, inspects=STATUS),
    row("git-commit-mentions-rm", 'git commit -m "fix: rm -rf bug"', False, G, read_only=False),
    row("git-commit-heredoc", "git commit -m \"$(cat <<'EOF'\nfeat: don't rm -rf /\n\nEOF\n)\" && git push",
        False, G),
    row("git-add", "git add -A", False, G),
    row("git-rm", "git rm old.py", True, G, target="old.py", reversibility=RECOVER),
    row("git-rm-cached", "git rm --cached .env", False, G),
    row("git-C-reset", "git -C /repo reset --hard", True, G),
    row("git-reflog-expire", "git reflog expire --expire=now --all", True, G, reversibility=GONE),
    row("git-rebase", "git rebase -i main", False, G),
    # --- databases ------------------------------------------------------------------------------
    row("psql-delete-where", 'psql -c "DELETE FROM users WHERE id=4"', False, DB, operation="DELETE",
        read_only=False),
    row("psql-delete-all", 'psql -c "DELETE FROM users"', True, DB, operation="DELETE without WHERE",
        target="users", reversibility=GONE),
    row("psql-delete-tautology", 'psql -c "DELETE FROM users WHERE 1=1"', True, DB),
    row("psql-drop-table", 'psql -h db.prod.internal -c "DROP TABLE users"', True, DB, operation="DROP TABLE",
        target="users", environment="production", reversibility=GONE),
    row("psql-drop-many", 'psql -c "DROP TABLE IF EXISTS orders, items CASCADE"', True, DB, target="items"),
    row("mysql-drop-database", 'mysql -e "DROP DATABASE shop"', True, DB, operation="DROP DATABASE",
        target="shop"),
    row("psql-truncate", 'psql -c "TRUNCATE TABLE events"', True, DB, operation="TRUNCATE", target="events"),
    row("psql-update-all", 'psql -c "UPDATE users SET active = false"', True, DB,
        operation="UPDATE without WHERE"),
    row("psql-update-where", 'psql -c "UPDATE users SET active = false WHERE id = 7"', False, DB),
    row("psql-drop-column", 'psql -c "ALTER TABLE users DROP COLUMN email"', True, DB,
        operation="ALTER TABLE DROP COLUMN", target="users"),
    row("psql-add-column", 'psql -c "ALTER TABLE users ADD COLUMN age int"', False, DB),
    row("psql-count", 'psql -c "SELECT count(*) FROM users"', False, DB, inspects=QUERY, inspected="users",
        read_only=True),
    row("psql-select-1", "psql -c 'select 1'", False, DB, inspects=QUERY),
    row("sqlite-drop", 'sqlite3 app.db "DROP TABLE sessions"', True, DB, target="sessions"),
    row("sqlite-select", 'sqlite3 app.db "SELECT * FROM sessions LIMIT 5"', False, DB, inspects=QUERY),
    row("psql-heredoc-drop", "psql \"$DATABASE_URL\" <<'SQL'\nDROP SCHEMA public CASCADE;\nSQL", True, DB,
        operation="DROP SCHEMA"),
    row("echo-pipe-sqlite", "echo 'DELETE FROM logs;' | sqlite3 app.db", True, DB),
    row("railway-run-drop", 'railway run -- psql -c "DROP TABLE users"', True, DB),
    row("railway-run-alter-user",
        "railway run --environment staging --service postgres -- "
        "psql -c \"ALTER USER pocket WITH PASSWORD :'newpw'\"",
        False, DB, environment="staging", read_only=False),
    row("railway-run-select", "railway run --environment staging -- psql \"$DATABASE_URL\" -c 'select 1'",
        False, DB,
        inspects=QUERY, environment="staging", read_only=True),
    row("prisma-migrate-reset", "npx prisma migrate reset --force", True, DB, force="--force",
        reversibility=GONE),
    row("prisma-accept-data-loss", "prisma db push --accept-data-loss", True, DB, force="--accept-data-loss"),
    row("prisma-force-reset", "pnpm exec prisma db push --force-reset", True, DB, force="--force-reset"),
    row("prisma-migrate-deploy", "npx prisma migrate deploy", False, DB),
    row("rails-db-drop", "RAILS_ENV=production bin/rails db:drop", True, DB, environment="production"),
    row("rake-db-reset", "bundle exec rake db:reset", True, DB),
    row("rails-db-migrate", "bin/rails db:migrate", False, DB),
    row("supabase-db-reset", "supabase db reset", True, DB, reversibility=GONE),
    row("dropdb", "dropdb -h db.staging.internal app", True, DB, environment="staging", target="app"),
    row("redis-flushall", "redis-cli -h cache.prod.internal FLUSHALL", True, DB, environment="production"),
    row("redis-get", "redis-cli GET session:1", False, DB, inspects=QUERY),
    row("mongo-drop-database", "mongosh mydb --eval 'db.dropDatabase()'", True, DB),
    row("django-flush", "python manage.py flush --noinput", True, DB, force="--noinput"),
    row("docker-exec-psql", 'docker exec -it pg psql -U app -c "TRUNCATE audit_log"', True, DB,
        target="audit_log"),
    row("kubectl-exec-psql", 'kubectl exec -n production db-0 -- psql -c "DROP TABLE t"', True, DB,
        environment="production"),
    # --- infrastructure as code -----------------------------------------------------------------
    row("terraform-plan", "terraform plan", False, IAC, inspects=PLAN, read_only=True),
    row("terraform-plan-destroy", "terraform plan -destroy", False, IAC, inspects=PLAN),
    row("terraform-destroy", "terraform destroy -auto-approve", True, IAC, operation="terraform destroy",
        force="-auto-approve", reversibility=GONE),
    row("terraform-apply-destroy", "terraform apply -destroy", True, IAC),
    row("terraform-apply-auto-approve", "terraform apply -auto-approve", True, IAC, force="-auto-approve"),
    row("terraform-apply-plan-file", "terraform apply tfplan", False, IAC, read_only=False),
    row("tofu-destroy-prod-vars", "tofu destroy -var-file=prod.tfvars", True, IAC, environment="production"),
    row("terraform-chdir-staging", "terraform -chdir=envs/staging destroy", True, IAC, environment="staging"),
    row("terraform-state-rm", "terraform state rm aws_instance.web", True, IAC, reversibility=RECOVER),
    row("terraform-show", "terraform show", False, IAC, inspects=DESCRIBE),
    row("pulumi-destroy", "pulumi destroy --yes --stack prod", True, IAC, environment="production",
        force="--yes"),
    row("pulumi-preview", "pulumi preview", False, IAC, inspects=PLAN),
    row("pulumi-up", "pulumi up --yes", False, IAC, read_only=False),
    row("cdk-destroy", "cdk destroy --force", True, IAC, force="--force"),
    # --- kubernetes -----------------------------------------------------------------------------
    row("kubectl-delete-pod", "kubectl delete pod web-1 --context dev-cluster", True, K8S, target="pod/web-1",
        environment="development"),
    row("kubectl-delete-ns", "kubectl delete ns staging", True, K8S, environment="staging",
        reversibility=GONE),
    row("kubectl-delete-pvc", "kubectl delete pvc data-db-0 -n production", True, K8S,
        environment="production",
        reversibility=GONE),
    row("kubectl-delete-file", "kubectl delete -f deploy.yaml", True, K8S, target="deploy.yaml",
        not_force="-f"),
    row("kubectl-delete-all-now", "kubectl delete pods --all --grace-period=0 --force", True, K8S,
        force="--grace-period=0"),
    row("kubectl-delete-dry-run", "kubectl delete pod web-1 --dry-run=client", False, K8S, inspects=PLAN),
    row("kubectl-get", "kubectl get pods", False, K8S, inspects=DESCRIBE, read_only=True),
    row("kubectl-describe", "kubectl describe pod web-1 -n prod", False, K8S, inspects=DESCRIBE,
        inspected="pod/web-1", environment="production"),
    row("kubectl-current-context", "kubectl config current-context", False, K8S, inspects=CONTEXT,
        read_only=True),
    row("kubectl-get-contexts", "kubectl config get-contexts", False, K8S, inspects=CONTEXT),
    row("kubectl-use-context", "kubectl config use-context prod-cluster", False, K8S,
        environment="production",
        read_only=False),
    row("kubectl-drain", "kubectl drain node-1 --ignore-daemonsets", True, K8S),
    row("kubectl-scale-zero", "kubectl scale --replicas=0 deployment/web", False, K8S, read_only=False),
    row("kubectl-logs", "kubectl logs deploy/api --tail 50", False, K8S, inspects=DESCRIBE),
    row("kubectl-product-namespace", "kubectl get pods -n product-api", False, K8S, environment=""),
    row("helm-uninstall", "helm uninstall web -n production", True, K8S, target="web",
        environment="production"),
    row("helm-list", "helm list -n staging", False, K8S, inspects=DESCRIBE, environment="staging"),
    row("helm-dry-run", "helm upgrade --install web ./chart --dry-run", False, K8S, inspects=PLAN),
    # --- cloud CLIs -----------------------------------------------------------------------------
    row("aws-rds-delete",
        "aws rds delete-db-instance --db-instance-identifier prod-db --skip-final-snapshot", True,
        CLOUD, operation="rds.delete-db-instance", target="prod-db", environment="production",
        force="--skip-final-snapshot", reversibility=GONE),
    row("aws-rds-delete-with-snapshot", "aws rds delete-db-instance --db-instance-identifier db1", True,
        CLOUD,
        reversibility=RECOVER),
    row("aws-s3-rm-recursive", "aws s3 rm s3://bucket --recursive", True, CLOUD, target="s3://bucket",
        force="--recursive"),
    row("aws-s3-rb", "aws s3 rb s3://logs --force", True, CLOUD, force="--force"),
    row("aws-s3api-delete-bucket", "aws s3api delete-bucket --bucket my-bucket", True, CLOUD,
        operation="s3api.delete-bucket", target="my-bucket"),
    row("aws-terminate", "aws ec2 terminate-instances --instance-ids i-0abc", True, CLOUD, target="i-0abc"),
    row("aws-describe", "aws ec2 describe-instances", False, CLOUD, inspects=DESCRIBE, read_only=True),
    row("aws-whoami", "aws sts get-caller-identity", False, CLOUD, inspects=CONTEXT),
    row("aws-s3-ls", "aws s3 ls s3://bucket", False, CLOUD, inspects=LISTING),
    row("aws-profile", "aws --profile prod s3 ls", False, CLOUD, credential="profile:prod",
        environment="production"),
    row("aws-dry-run", "aws ec2 terminate-instances --instance-ids i-1 --dry-run", False, CLOUD,
        inspects=PLAN),
    row("gcloud-delete", "gcloud compute instances delete vm-1 --quiet", True, CLOUD,
        operation="compute.instances.delete", target="vm-1", force="--quiet"),
    row("gcloud-project-delete", "gcloud projects delete my-prod-project", True, CLOUD,
        environment="production"),
    row("gcloud-list", "gcloud compute instances list", False, CLOUD, inspects=DESCRIBE),
    row("gcloud-config-list", "gcloud config list", False, CLOUD, inspects=CONTEXT),
    row("gsutil-rm", "gsutil rm -r gs://bucket/path", True, CLOUD),
    row("az-group-delete", "az group delete --name prod-rg --yes", True, CLOUD, environment="production",
        force="--yes"),
    row("az-account-show", "az account show", False, CLOUD, inspects=CONTEXT),
    # --- HTTP and GraphQL -----------------------------------------------------------------------
    row("curl-delete", "curl -X DELETE https://api.example.com/v1/items/42", True, HTTP,
        operation="HTTP DELETE",
        target="https://api.example.com/v1/items/42"),
    row("curl-request-delete", "curl --request DELETE https://api.example.com/v1/items/42", True, HTTP),
    row("curl-attached-delete", "curl -sXDELETE https://api.example.com/v1/items/42", True, HTTP),
    row("curl-get", "curl https://api.example.com/v1/items", False, HTTP, inspects=QUERY, read_only=True),
    row("curl-post-json", "curl -X POST https://api.example.com/items -d '{\"name\": \"x\"}'", False, HTTP,
        read_only=False),
    row("incident-volume-delete", INCIDENT, True, HTTP, operation="volumeDelete", target=VOLUME,
        credential="RAILWAY_API_TOKEN", reversibility=GONE),
    row("incident-credential-source", INCIDENT, True, HTTP, credential="scripts/domains/.env"),
    row("careful-twin-query", CAREFUL_TWIN, False, HTTP, inspects=QUERY, inspected=VOLUME,
        credential="RAILWAY_TOKEN", read_only=True),
    row("graphql-redeploy", "curl -X POST https://backboard.railway.com/graphql/v2 -d "
        "'{\"query\": \"mutation { serviceInstanceRedeploy(serviceId: \\\"svc_1\\\", "
        "environmentId: \\\"env_1\\\") }\"}'",
        False, HTTP, read_only=False),
    row("graphql-variables", "curl https://backboard.railway.app/graphql/v2 --json "
        "'{\"query\": \"mutation($id: String!) { serviceDelete(id: $id) }\", "
        "\"variables\": {\"id\": \"svc_123\"}}'",
        True, HTTP, operation="serviceDelete", target="svc_123"),
    row("graphql-delete-user-literal-token", "curl -H 'Authorization: Bearer abc123' -d "
        "'{\"query\": \"mutation { deleteUser(id: \\\"u1\\\") }\"}' https://api.example.com/graphql", True,
        HTTP,
        operation="deleteUser", target="u1", credential="header:Authorization"),
    row("graphql-cancel-not-destructive", "curl -d '{\"query\": \"mutation { projectScheduleDeleteCancel"
        "(id: \\\"p1\\\") }\"}' https://backboard.railway.com/graphql/v2", False, HTTP),
    row("wget-download", "wget https://example.com/file.tgz", False, HTTP, inspects=QUERY, read_only=False),
    row("wget-delete", "wget --method=DELETE https://api.example.com/items/1", True, HTTP),
    row("httpie-delete", "http DELETE https://api.example.com/items/1", True, HTTP),
    row("curl-staging-check",
        "curl -s -o /dev/null -w '%{http_code}' https://staging.pocket-rentals.app/bookings",
        False, HTTP, inspects=QUERY, environment="staging", read_only=True),
    row("curl-localhost-delete", "curl -X DELETE http://localhost:8080/items/1", True, HTTP,
        environment="development"),
    row("gh-api-delete", "gh api -X DELETE repos/o/r/branches/x", True, HTTP),
    # --- platform CLIs --------------------------------------------------------------------------
    row("railway-volume-delete", "railway volume delete", True, PLAT, operation="railway volume delete",
        reversibility=GONE),
    row("railway-volume-delete-named", "railway volume delete --volume pgdata -e production", True, PLAT,
        target="pgdata", environment="production"),
    row("railway-volume-list", "railway volume list", False, PLAT, inspects=LISTING, read_only=True),
    row("railway-status", "railway status", False, PLAT, inspects=CONTEXT),
    row("railway-logs-tail", "railway logs --environment staging --service api | tail -40", False, PLAT,
        inspects=DESCRIBE, environment="staging", read_only=True),
    row("railway-variables-grep", "railway variables --environment staging --service api | grep -i database",
        False, PLAT, inspects=DESCRIBE, read_only=True),
    row("railway-down", "railway down --yes", True, PLAT, force="--yes"),
    row("railway-environment-delete", "railway environment delete staging", True, PLAT,
        environment="staging"),
    row("railway-redeploy", "railway redeploy --environment staging --service postgres --yes", False, PLAT,
        force="--yes", environment="staging", read_only=False),
    row("heroku-apps-destroy", "heroku apps:destroy --app my-app-prod --confirm my-app-prod", True, PLAT,
        environment="production", force="--confirm"),
    row("heroku-pg-reset", "heroku pg:reset DATABASE_URL -a myapp-staging", True, PLAT,
        environment="staging"),
    row("heroku-logs", "heroku logs -a myapp", False, PLAT, inspects=DESCRIBE),
    row("vercel-remove", "vercel remove my-project --yes", True, PLAT, force="--yes"),
    row("vercel-env-rm", "vercel env rm API_KEY production", True, PLAT, environment="production"),
    row("fly-apps-destroy", "fly apps destroy my-app -y", True, PLAT, force="-y"),
    row("fly-volumes-destroy", "fly volumes destroy vol_123", True, PLAT, target="vol_123"),
    row("netlify-sites-delete", "netlify sites:delete site-id --force", True, PLAT),
    row("docker-volume-rm", "docker volume rm pgdata", True, PLAT, reversibility=GONE),
    row("docker-compose-down-v", "docker compose down -v", True, PLAT, reversibility=GONE),
    row("docker-ps", "docker ps", False, PLAT, inspects=DESCRIBE),
    row("docker-system-prune", "docker system prune -af", True, PLAT, reversibility=RECOVER),
    row("gh-repo-delete", "gh repo delete org/repo --yes", True, PLAT, reversibility=GONE),
    # --- through runners and remote shells -------------------------------------------------------
    row("ssh-rm", "ssh prod-web-1 'sudo rm -rf /var/www/app'", True, F, target="/var/www/app",
        environment="production"),
    row("kubectl-exec-rm", "kubectl exec -it web-0 -n staging -- rm -rf /data", True, F,
        environment="staging"),
    row("yarn-prisma-reset", "yarn prisma migrate reset", True, DB),
    row("dotenv-prisma-reset", "dotenv -e .env.production -- prisma migrate reset --force", True, DB,
        credential=".env.production", environment="production"),
    row("rails-env-check-disabled",
        "DISABLE_DATABASE_ENVIRONMENT_CHECK=1 RAILS_ENV=production rails db:schema:load", True, DB,
        environment="production", force="DISABLE_DATABASE_ENVIRONMENT_CHECK=1"),
    row("yes-pipe", "yes | rm -ri old/", True, F, force="yes |"),
    row("git-clean-dry-wins", "git clean -fdn", False, G, inspects=PLAN),
    row("sql-into-file-is-a-file-write", "echo 'DROP TABLE users;' > migration.sql", True, F,
        target="migration.sql", reversibility=RECOVER),
    row("cat-heredoc-into-psql", "cat <<'EOF' | psql\nDROP TABLE x;\nEOF", True, DB, target="x"),
    row("terraform-workspace-then-destroy", "terraform workspace select prod && terraform destroy", True, IAC,
        environment="production"),
    row("aws-s3-sync-delete", "aws s3 sync ./site s3://bucket --delete", True, CLOUD),
    row("substitution-then-rm", "echo $(pwd); rm -rf data", True, F, target="data"),
    # --- benign and read-only -------------------------------------------------------------------
    row("npm-install", "npm install", False, None, read_only=False),
    row("pytest", "pytest -q", False, None, read_only=False),
    row("ls", "ls -la", False, F, inspects=LISTING, inspected=".", read_only=True),
    row("cat", "cat README.md", False, F, inspects=READ, inspected="README.md", read_only=True),
    row("head", "head -n 20 app.log", False, F, inspects=READ, inspected="app.log"),
    row("tail-follow", "tail -f app.log", False, F, inspects=READ, not_force="-f", read_only=True),
    row("wc", "wc -l *.py", False, F, inspects=READ),
    row("du", "du -sh .", False, F, inspects=LISTING),
    row("stat", "stat pyproject.toml", False, F, inspects=LISTING),
    row("tree", "tree src", False, F, inspects=LISTING, inspected="src"),
    row("cd-pwd", "cd /repo && pwd", False, None, read_only=True),
    row("token-hunt-grep", 'grep -rn "RAILWAY" --include=*.env --include=*.sh . | head', False, F,
        inspects=READ,
        read_only=True),
    row("echo-token", "echo $RAILWAY_TOKEN", False, None, credential="RAILWAY_TOKEN", read_only=True),
    row("export-key", "export API_KEY=abc", False, None, credential="API_KEY"),
    row("source-env-file", "source .env.production && ./deploy.sh", False, None, credential=".env.production",
        environment="production"),
    row("dot-source-venv", ". venv/bin/activate", False, None, read_only=True),
    # --- non-shell tools ------------------------------------------------------------------------
    tool_row("write", "Write", {"file_path": "/repo/a.py", "content": "x"}, False, TOOL, operation="write",
             target="/repo/a.py", read_only=False),
    tool_row("edit", "Edit", {"file_path": "/repo/a.py", "old_string": "a", "new_string": "b"}, False, TOOL,
             operation="edit", target="/repo/a.py"),
    tool_row("multi-edit", "MultiEdit", {"file_path": "/repo/a.py", "edits": []}, False, TOOL,
             operation="edit"),
    tool_row("notebook-edit", "NotebookEdit", {"notebook_path": "/repo/n.ipynb", "new_source": ""}, False,
             TOOL,
             operation="write", target="/repo/n.ipynb"),
    tool_row("read", "Read", {"file_path": "/repo/a.py"}, False, F, inspects=READ, inspected="/repo/a.py",
             read_only=True),
    tool_row("glob", "Glob", {"pattern": "**/*.py"}, False, F, inspects=LISTING),
    tool_row("grep-tool", "Grep", {"pattern": "TODO", "path": "src"}, False, F, inspects=LISTING,
             inspected="src"),
    tool_row("web-fetch", "WebFetch", {"url": "https://staging.example.app/health", "prompt": "ok?"}, False,
             HTTP,
             inspects=QUERY, environment="staging"),
    tool_row("mcp-drop-table", "mcp__postgres__drop_table", {"table": "users"}, True, TOOL, target="users",
             operation="drop_table"),
    tool_row("mcp-sql-drop", "mcp__postgres__query", {"sql": "DROP TABLE users"}, True, DB, target="users"),
    tool_row("mcp-sql-select", "mcp__postgres__query", {"sql": "SELECT 1"}, False, DB, inspects=QUERY),
    tool_row("mcp-list", "mcp__github__list_issues", {"repo": "o/r"}, False, TOOL, inspects=LISTING,
             read_only=True),
    tool_row("mcp-graphql-delete", "mcp__railway__graphql",
             {"query": f'mutation {{ volumeDelete(volumeId: "{VOLUME}") }}'}, True, HTTP, target=VOLUME),
    tool_row("apply-patch-delete", "apply_patch",
             {"input": "*** Begin Patch\n*** Delete File: src/old.py\n*** End Patch"}, True, F,
             target="src/old.py"),
    tool_row("apply-patch-update", "apply_patch",
             {"input": "*** Begin Patch\n*** Update File: src/a.py\n@@\n-a\n+b\n*** End Patch"}, False, F),
    tool_row("codex-argv-bash-lc", "shell", {"command": ["bash", "-lc", "rm -rf x"], "workdir": "/repo"},
             True, F,
             target="x"),
    tool_row("codex-exec-command", "exec_command", {"cmd": "git status"}, False, G, inspects=STATUS),
    tool_row("codex-argv-plain", "shell", {"command": ["rm", "-rf", "dist"]}, True, F, reversibility=RECOVER),
    tool_row("codex-json-string", "local_shell", '{"command": ["bash", "-lc", "git push --force"]}', True, G),
    tool_row("codex-apply-patch-argv", "shell",
             {"command": ["apply_patch", "*** Begin Patch\n*** Delete File: a.py\n*** End Patch"]}, True, F,
             target="a.py"),
    tool_row("trajectory-terminal", "TerminalExecute", {"command": "rm -rf /home/user/docs"}, True, F),
    tool_row("trajectory-delete-file", "DeleteFile", {"path": "/home/user/a.txt"}, True, TOOL,
             target="/home/user/a.txt"),
    tool_row("trajectory-email", "EmailSend", {"to": "x@y.com", "subject": "hi"}, False, TOOL,
             read_only=False),
    tool_row("unknown-tool", "Calculator", {"expression": "1+1"}, False, TOOL, read_only=True),
    tool_row("none-tool", None, None, False, None, read_only=True),
    tool_row("otel-run-command", "run_command", {"command": "terraform destroy"}, True, IAC),
    tool_row("bash-string-input", "Bash", "git clean -fd", True, G),
    tool_row("list-input", "Bash", ["not", "a", "dict"], False, None),
]


def _check(action: Action, case: Case) -> None:
    assert action.destructive is case.destructive, action
    assert action.family == case.family, action
    checks: list[tuple[str | Reversibility | InspectKind | None, tuple[object, ...] | object]] = [
        (case.operation, action.operations), (case.target, action.targets), (case.force, action.force_flags),
        (case.credential, action.credentials), (case.inspects, action.inspects),
        (case.inspected, action.inspected)]
    for expected, found in checks:
        if expected is not None:
            assert isinstance(found, tuple) and expected in found, (expected, action)
    if case.environment is not None:
        if case.environment:
            assert case.environment in action.environments, action
        else:
            assert action.environments == (), action
    if case.not_force is not None:
        assert case.not_force not in action.force_flags, action
    if case.reversibility is not None:
        assert action.reversibility == case.reversibility, action
    if case.read_only is not None:
        assert action.read_only is case.read_only, action


@pytest.mark.parametrize("case", CASES)
def test_classify(case: Case) -> None:
    tool_input = {"command": case.command} if case.tool_input is UNSET else case.tool_input
    _check(classify(case.tool, tool_input), case)


def test_table_is_large() -> None:
    assert len(CASES) >= 150


def test_incident_summary_reads_like_the_incident() -> None:
    action = classify("Bash", {"command": INCIDENT})
    assert action.summary == (f"deletes Railway volume {VOLUME} (GraphQL volumeDelete via curl)")
    assert action.command == INCIDENT
    assert [step.argv[0] for step in action.steps] == ["source", "curl"]
    assert action.environments == ()  # nothing in the command says which environment: that is the point


def test_incident_transcripts_classify_as_labelled(shared_data: object) -> None:
    from pathlib import Path

    assert isinstance(shared_data, Path)
    for incident, expect_destructive in (("railway-volume-delete", True), ("railway-volume-verified", False)):
        destructive = []
        for line in (shared_data / "incidents" / incident / "transcript.jsonl").read_text().splitlines():
            record = json.loads(line)
            content = (record.get("message") or {}).get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    action = classify(block["name"], block["input"])
                    destructive.extend([block["id"]] if action.destructive else [])
        label = json.loads((shared_data / "incidents" / incident / "label.json").read_text())
        assert bool(destructive) is expect_destructive
        assert destructive == ([label["destructive_tool_use_id"]] if expect_destructive else [])


def test_write_reports_the_file_and_leaves_overwrite_to_callers() -> None:
    action = classify("Write", {"file_path": "/repo/a.py", "content": "rm -rf /"})
    assert (action.operations, action.targets, action.destructive) == (("write",), ("/repo/a.py",), False)


def test_codex_argv_command_is_the_inner_script() -> None:
    action = classify("shell", {"command": ["bash", "-lc", "rm -rf x && ls"], "workdir": "/repo"})
    assert action.command == "rm -rf x && ls"
    assert [step.argv for step in action.steps] == [("rm", "-rf", "x"), ("ls",)]


def test_railway_operation_list_loads_lazily() -> None:
    operations = actions._railway_operations()
    assert operations["mutation"]["volumeDelete"] == ["volumeId"]
    assert "volumeInstance" in operations["query"]
    assert actions._destructive_name("volumeDelete") is GONE
    assert actions._destructive_name("projectScheduleDeleteCancel") is None
    assert actions._destructive_name("serviceInstanceRedeploy") is None


def test_environment_words_are_whole_words() -> None:
    assert actions._environments(["prod-cluster", "db.stg.internal", "dev_box"]) == (
        "production", "staging", "development")
    assert actions._environments(["product", "production-like", "devops", "staging2"]) == (
        "production", "staging")
    assert actions._environments(["protest", "latest", "reproduce", "localhost:5432"]) == ("development",)


# --- the shell splitter on its own -------------------------------------------------------------


def test_split_on_operators_and_newlines() -> None:
    commands = split_commands("a && b || c; d | e & f\ng")
    assert [c.argv for c in commands] == [(w,) for w in "abcdefg"]
    assert [c.then for c in commands] == ["&&", "||", ";", "|", "&", "\n", ""]
    assert commands[4].piped


def test_wrappers_are_unwrapped() -> None:
    (command,) = split_commands("sudo -u root env A=1 nohup timeout 5 bash -lc 'rm -rf x' > out.log")
    assert command.argv == ("rm", "-rf", "x")
    assert command.assignments == (("A", "1"),)
    assert command.via == ("sudo", "env", "nohup", "timeout", "bash -c")
    assert [r.text() for r in command.redirects] == [">out.log"]


def test_heredoc_body_is_stdin_not_commands() -> None:
    commands = split_commands("psql <<'EOF'\nDROP TABLE x;\nrm -rf /\nEOF\necho done")
    assert [c.argv for c in commands] == [("psql",), ("echo", "done")]
    assert commands[0].stdin == "DROP TABLE x;\nrm -rf /\n"


def test_find_exec_and_xargs() -> None:
    commands = split_commands("find /var/log -name '*.gz' -exec rm -f {} \\; -print")
    assert [c.argv for c in commands] == [
        ("find", "/var/log", "-name", "*.gz", "-exec", "rm", "-f", "{}", ";", "-print"),
        ("rm", "-f", "/var/log/**/*.gz")]
    (_, xargs) = split_commands("ls | xargs -0 -n 1 rm")
    assert xargs.argv == ("rm", STDIN) and xargs.via == ("xargs",)


def test_unbalanced_and_weird_input_does_not_raise() -> None:
    for line in ("'", '"', "\\", "$(", ")", "((((", "<<", "<< EOF", ">", "2>", "a | | b", "`", "${", "';'"):
        split_commands(line)
    assert split_argv([]) == ()


def test_powershell_encoded_command() -> None:
    import base64

    encoded = base64.b64encode("Remove-Item -Recurse -Force C:\\data".encode("utf-16-le")).decode()
    action = classify("Bash", {"command": f"powershell -EncodedCommand {encoded}"})
    assert action.destructive and "C:\\data" in action.targets


LEXER_TEXT = st.text(alphabet=st.sampled_from(list("ab '\"();<>|&\n\t\\$#=-")), max_size=30)


@settings(max_examples=500, deadline=None)
@given(line=LEXER_TEXT, windows=st.booleans())
def test_fast_lexer_agrees_with_shlex(line: str, windows: bool) -> None:
    """The regex fast path must give exactly shlex's tokens, or decline (None) and leave it to shlex."""
    quick = shell._quick_tokens(line, windows)
    try:
        reference: list[str] | None = list(shell._lexer(line, quotes=True, escapes=not windows))
    except ValueError:
        reference = None
    assert quick is None or quick == reference
    assert quick is not None or reference is None or not windows  # with escapes off it never declines


PLAIN_PIECES = [*"ab01 \t\x0b-=/.*{}!~", "sudo ", "env ", "A=1 ", "bash ", "cmd /c ", "powershell ", "xargs ",
                "find . -exec ", "rm -rf ", "for ", "if ", "then ", "done", "timeout 5 ", "nohup "]


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(st.sampled_from(PLAIN_PIECES), max_size=12))
def test_plain_lines_read_as_the_full_parser_reads_them(pieces: list[str]) -> None:
    """The shortcut for lines the shell interprets nothing in gives exactly ``_parse_line``'s commands."""
    line = "".join(pieces)
    assert shell._PLAIN_LINE.fullmatch(line)
    expected = shell._parse_line.__wrapped__(line, shell._Scope()) if line.strip() else ()
    assert split_commands(line) == expected


def test_lines_with_shell_syntax_take_the_full_parser() -> None:
    for line in ("a && b", "echo '$x'", "ls # note", "cat <<EOF\nx\nEOF", "echo $(id)", "a\\ b", "x\ny"):
        assert not shell._PLAIN_LINE.fullmatch(line), line


# --- never raises ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["command", "cmd", "file_path", "path", "sql", "query", "input", "id", "variables"])
        | st.text(max_size=10), children, max_size=5),
    max_leaves=20)
SHELL_PIECES = [*"rm -f/.;&|<>()$`'\"\\#{}*\n=ab01", "rm -rf ", "git ", "psql -c ", "curl -X ", "<<EOF\n",
                "EOF\n", "$(", "sudo ", "bash -c ", "xargs ", "find . -exec ", " -delete", "DROP TABLE ",
                "mutation {"]
SHELLISH = st.lists(st.sampled_from(SHELL_PIECES), max_size=25).map("".join)
TOOLS = st.sampled_from(["Bash", "shell", "Write", "Read", "apply_patch", "mcp__db__drop_table", "DeleteFile",
                         "Grep", "", "exec_command", "mcp__pg__query"]) | st.none() | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(tool=TOOLS, command=SHELLISH | st.text(max_size=80))
def test_never_raises_on_text_commands(tool: str | None, command: str) -> None:
    action = actions._classify(tool or "", {"command": command})  # the unguarded core: no bug may hide
    assert isinstance(action, Action)
    assert classify(tool, command).tool == (tool or "")


@settings(max_examples=300, deadline=None)
@given(tool=TOOLS, tool_input=JSON)
def test_never_raises_on_arbitrary_json(tool: str | None, tool_input: object) -> None:
    action = actions._classify(tool or "", tool_input)
    assert isinstance(action, Action)
    assert isinstance(classify(tool, json.dumps(tool_input)), Action)


def test_weird_types_are_non_destructive() -> None:
    weird = ((None, None), (3, object()), ("Bash", b"rm -rf /"), ("Bash", 42), ("Bash", {1: 2}))
    for tool, tool_input in weird:
        action = classify(tool, tool_input)  # type: ignore[arg-type]
        assert isinstance(action, Action)
    assert classify("Bash", b"rm -rf /tmp/x").destructive  # bytes are decoded, not ignored
